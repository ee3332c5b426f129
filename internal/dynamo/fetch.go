package dynamo

import (
	"context"

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
	keys := make([]map[string]types.AttributeValue, len(found))
	for i, it := range found {
		keys[i] = map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]}
	}
	byKey := make(map[[2]string]map[string]types.AttributeValue, len(found))
	if err := s.batchGet(ctx, "batch get "+index+" items", keys, func(it map[string]types.AttributeValue) { byKey[itemKeyOf(it)] = it }); err != nil {
		return nil, err
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
