package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// keysOnly reports whether the main table's index projects keys only, so
// that its readers fetch the items.
func keysOnly(index string) bool {
	for _, ix := range MainTable.Indexes {
		if ix.Name == index {
			return ix.KeysOnly
		}
	}
	return false
}

// fetch returns the items that a keys-only index Query found, read
// consistently from the table, in the order found. An item gone since, or
// no longer under the partition it was found in (its pkAttr no longer pk),
// is dropped. Queries of the table itself or of an index projecting the
// items are returned as they are.
func (s *Table) fetch(ctx context.Context, table, index, pkAttr, pk string, found []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	if table != s.table || index == "" || !keysOnly(index) || len(found) == 0 {
		return found, nil
	}
	byKey := map[[2]string]map[string]types.AttributeValue{}
	for start := 0; start < len(found); start += 100 {
		var keys []map[string]types.AttributeValue
		for _, it := range found[start:min(start+100, len(found))] {
			keys = append(keys, map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]})
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for len(req) > 0 {
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, wrap(err, "batch get "+index+" items")
			}
			for _, it := range out.Responses[s.table] {
				byKey[itemKeyOf(it)] = it
			}
			req = out.UnprocessedKeys
		}
	}
	items := make([]map[string]types.AttributeValue, 0, len(found))
	for _, k := range found {
		it, ok := byKey[itemKeyOf(k)]
		if !ok {
			continue
		}
		if v, _ := it[pkAttr].(*types.AttributeValueMemberS); pkAttr != "" && (v == nil || v.Value != pk) {
			continue
		}
		items = append(items, it)
	}
	return items, nil
}

func itemKeyOf(item map[string]types.AttributeValue) [2]string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	sk, _ := item[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return [2]string{}
	}
	return [2]string{pk.Value, sk.Value}
}

// indexPartitionKey returns the partition key attribute of a main-table
// index.
func indexPartitionKey(index string) string {
	for _, ix := range MainTable.Indexes {
		if ix.Name == index {
			return ix.PartitionKey
		}
	}
	return ""
}
