package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

// UpdateCustomerUnaudited writes what UpdateCustomer writes but the audit
// entry, in one transaction, so a benchmark can price the audit alone.
func (s *Table) UpdateCustomerUnaudited(ctx context.Context, prev, next crm.Customer, _ crm.Audit) error {
	ops, err := s.updateOps(ctx, prev, next)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	return err
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
	return s.batchPut(ctx, reqs)
}

// batchPut writes reqs to the table 25 at a time, resending what
// BatchWriteItem leaves unprocessed.
func (s *Table) batchPut(ctx context.Context, reqs []types.WriteRequest) error {
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

// ResealLegacy rewrites the sealed fields of the item at pk, sk as the store
// sealed them before encryption contexts named a purpose: under
// {table, entity}, wrapped by kr, without the context marker.
func (s *Table) ResealLegacy(ctx context.Context, kr envelope.Keyring, pk, sk, entity string) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return err
	}
	item := out.Item
	dk, err := s.sealer.OpenKey(ctx, item[attrEDK].(*types.AttributeValueMemberB).Value, encContext(entity))
	if err != nil {
		return err
	}
	old, err := envelope.NewSealer(kr, envelope.Options{Disabled: true}).ItemKey(ctx, legacyContext(entity))
	if err != nil {
		return err
	}
	sealed := item[attrSealed].(*types.AttributeValueMemberM).Value
	for name, av := range sealed {
		aad := envelope.AAD(logicalTable, keyString(item), name)
		plain, err := dk.Open(av.(*types.AttributeValueMemberB).Value, aad)
		if err != nil {
			return err
		}
		ct, err := old.Seal(plain, aad)
		if err != nil {
			return err
		}
		sealed[name] = &types.AttributeValueMemberB{Value: ct}
	}
	item[attrEDK] = &types.AttributeValueMemberB{Value: old.Wrapped()}
	delete(item, attrContext)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return err
}

// ClaimUnderCurrentKey claims value for customerID under the current
// blind-index key alone, as a process that missed a phase of a rotation
// could.
func (s *Table) ClaimUnderCurrentKey(ctx context.Context, field, value, customerID string) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: s.claimPut(field, value, customerID)[:1]})
	return err
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

// tableWithIndexKey returns a Table holding only a blind-index key, for
// tests of what derives from it.
func tableWithIndexKey(key []byte) *Table {
	s := &Table{keys: &keyHolder{}, keyRefresh: time.Hour}
	s.keys.set.Store(&keySet{cur: newIndexKeys(1, append([]byte(nil), key...)), checked: time.Now()})
	return s
}
