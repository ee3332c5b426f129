package dynamo

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The name search (GET /customers?q=) is a blind prefix index: for each
// customer, the keyed blind index of every prefix, 1 to searchPrefixLen
// characters, of its normalized name and company, each a member item
// pointing at the customer, written in the same transaction as the
// customer. A search reads the partition of its query's prefix and opens
// only the customers found there: the table never holds a name prefix in
// the clear, and no search decrypts customers in bulk. What an operator
// with table access learns is how many customers share some prefix, never
// which. Queries longer than the indexed prefix are narrowed by comparing
// the full name of each customer found.
const (
	searchField     = "prefix"
	searchPrefixLen = 8
)

// searchPrefix is the indexed part of a normalized query.
func searchPrefix(q string) string {
	r := []rune(q)
	if len(r) > searchPrefixLen {
		r = r[:searchPrefixLen]
	}
	return string(r)
}

// searchTerms are the prefixes a customer is found by.
func searchTerms(c *crm.Customer) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, v := range []string{crm.SearchKey(c.Name), crm.SearchKey(c.Company)} {
		r := []rune(v)
		for n := 1; n <= len(r) && n <= searchPrefixLen; n++ {
			if p := string(r[:n]); p != " " && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// searchOps moves a customer's prefix entries from prev's terms to next's;
// nil stands for no customer (before a create, after an erasure).
func (s *Table) searchOps(prev, next *crm.Customer) []types.TransactWriteItem {
	old, nw := searchTerms(prev), searchTerms(next)
	var ops []types.TransactWriteItem
	for _, p := range old {
		if !slices.Contains(nw, p) {
			ops = append(ops, s.memberDelete(searchField, p, prev.ID)...)
		}
	}
	for _, p := range nw {
		if !slices.Contains(old, p) {
			item := itemKey(s.lookupPK(searchField, p), customerPK(next.ID))
			item["customerId"] = &types.AttributeValueMemberS{Value: next.ID}
			item["type"] = &types.AttributeValueMemberS{Value: "search"}
			ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item}})
		}
	}
	return ops
}

// moveSearchEntries moves c's prefix entries from the previous blind-index
// key's partitions to the current key's, during a key rotation, in one
// transaction: each new entry is put and the old deleted only while the old
// is still c's. A transaction cancelled because the customer was written
// meanwhile needs nothing: that write moved the entries.
func (s *Table) moveSearchEntries(ctx context.Context, ks *keySet, c crm.Customer) (int, error) {
	var ops []types.TransactWriteItem
	owned := map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: c.ID}}
	for _, p := range searchTerms(&c) {
		oldPK := indexPK(ks.other, searchField, p)
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(oldPK, customerPK(c.ID)), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, wrap(err, "get search entry")
		}
		if out.Item == nil || strAttr(out.Item, "customerId") != c.ID {
			continue
		}
		item := out.Item
		item[attrPK] = &types.AttributeValueMemberS{Value: indexPK(ks.cur, searchField, p)}
		ops = append(ops,
			types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}},
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: itemKey(oldPK, customerPK(c.ID)),
				ConditionExpression: aws.String("customerId = :id"), ExpressionAttributeValues: owned}})
	}
	if len(ops) == 0 {
		return 0, nil
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	var tce *types.TransactionCanceledException
	switch {
	case err == nil:
		return len(ops) / 2, nil
	case errors.As(err, &tce):
		return 0, nil
	default:
		return 0, wrap(err, "move search entries")
	}
}
