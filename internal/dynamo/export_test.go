package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// WithoutAudit returns a copy of s whose writes skip the audit entry, so a
// benchmark can price the audit alone.
func (s *Table) WithoutAudit() *Table {
	c := *s
	c.unaudited = true
	return &c
}

// SeedCustomers writes customers straight to the table with BatchWriteItem,
// as a bulk load would: no claims, lookups or audit entries. Benchmarks use
// it to build large tables quickly.
func (s *Table) SeedCustomers(ctx context.Context, cs []crm.Customer) error {
	var reqs []types.WriteRequest
	for _, c := range cs {
		item, err := s.toCustomerItem(ctx, c, nil)
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for len(reqs) > 0 {
		n := min(25, len(reqs))
		batch := map[string][]types.WriteRequest{s.table: reqs[:n]}
		reqs = reqs[n:]
		for len(batch[s.table]) > 0 {
			out, err := s.db.(interface {
				BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
			}).BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: batch})
			if err != nil {
				return err
			}
			batch = out.UnprocessedItems
		}
	}
	return nil
}

// EnsureTableAs creates a table under name from the main table's
// definition with every index projecting all attributes, as the table
// was before its indexes were narrowed: the write-capacity benchmark's
// baseline.
func EnsureTableProjectingAll(ctx context.Context, db *dynamodb.Client, name string) error {
	def := MainTable
	def.Indexes = append([]Index(nil), MainTable.Indexes...)
	for i := range def.Indexes {
		def.Indexes[i].KeysOnly, def.Indexes[i].Include = false, nil
	}
	return ensureTable(ctx, db, def, name)
}
