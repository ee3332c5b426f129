package dynamo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// maxPagesPerList bounds the Query pages one list request reads, so a very
// selective filter answers with a short page and a cursor instead of reading
// without end.
const maxPagesPerList = 8

// source is what a list Queries: the table or an index, one partition, and
// optionally a sort-key prefix or upper bound. Pointer sources hold items
// that point at a customer (tag and lookup items) rather than the profile.
type source struct {
	index     string
	pkAttr    string
	skAttr    string
	pk        string
	skPrefix  string
	skBelow   string
	pointer   bool
	ascending bool
	// nextPK, while the blind-index key is rotated, is the same lookup's
	// partition under the other key, read after pk's.
	nextPK string
}

func (src source) keyAttrs() []string {
	if src.index == "" {
		return []string{attrPK, attrSK}
	}
	return []string{attrPK, attrSK, src.pkAttr, src.skAttr}
}

func tableSource(pk, skPrefix string) source {
	return source{pkAttr: attrPK, skAttr: attrSK, pk: pk, skPrefix: skPrefix}
}

func indexSource(index, pkAttr, skAttr, pk string) source {
	return source{index: index, pkAttr: pkAttr, skAttr: skAttr, pk: pk}
}

// customerSource picks the most selective index for a filter.
func (s *Table) customerSource(f crm.CustomerFilter) source {
	var src source
	switch {
	case f.Phone != "":
		src = s.lookupSource(crm.FieldPhone, f.Phone)
	case f.Email != "":
		src = s.lookupSource(crm.FieldEmail, f.Email)
	case f.Suspect:
		// Suspect markers (outcomes.go): a sparse partition, never a scan.
		src = indexSource(IndexByGroup, "GSI2PK", "GSI2SK", suspectPartition)
		src.pointer = true
	case f.Query != "":
		src = s.lookupSource(searchField, searchPrefix(f.Query))
	case f.Tag != "":
		src = indexSource(IndexByGroup, "GSI2PK", "GSI2SK", "TAG#"+f.Tag)
		src.pointer = true
	case f.Segment != "":
		src = indexSource(IndexByGroup, "GSI2PK", "GSI2SK", "SEG#"+f.Segment)
	case f.OwnerID != "":
		src = indexSource(IndexByOwner, "GSI1PK", "GSI1SK", "OWNER#"+f.OwnerID)
	case f.Stale:
		// Oldest due first: the records most overdue lead.
		src = indexSource(IndexByDue, "GSI4PK", "GSI4SK", "REVIEW")
		src.skBelow, src.ascending = sortTime(f.AsOf)+"$", true
	default:
		src = indexSource(IndexByKind, "GSI3PK", "GSI3SK", "CUSTOMER")
	}
	return src
}

// lookupSource is the lookup members of a value: under the current key,
// then under the other while the blind-index key is rotated.
func (s *Table) lookupSource(field, value string) source {
	ks := s.keyset()
	src := tableSource(indexPK(ks.cur, field, value), "CUST#")
	src.pointer = true
	if ks.other != nil {
		src.nextPK = indexPK(ks.other, field, value)
	}
	return src
}

// ListCustomers implements crm.CustomerStore: a Query on the most selective
// index for the filter, the rest of the filter applied to what it returns.
func (s *Customers) ListCustomers(ctx context.Context, f crm.CustomerFilter, p crm.Page) ([]crm.Customer, string, error) {
	src := s.customerSource(f)
	return paginate(ctx, s.Table, src, p, fmt.Sprintf("customers|%s|%s|%s|%s|%s|%t|%t|%s", f.OwnerID, f.Segment, f.Tag, f.Phone, f.Email, f.Stale, f.Suspect, f.Query),
		func(ctx context.Context, items []map[string]types.AttributeValue) ([]*crm.Customer, error) {
			cs, err := s.resolveCustomers(ctx, items, src.pointer)
			if err != nil {
				return nil, err
			}
			for i, c := range cs {
				if c != nil && !f.Match(*c) {
					cs[i] = nil
				}
			}
			return cs, nil
		})
}

// resolveCustomers decodes profile items, or fetches the profiles that
// pointer items name, keeping the items' order. A pointer to a customer that
// is gone resolves to nil.
func (s *Table) resolveCustomers(ctx context.Context, items []map[string]types.AttributeValue, pointer bool) ([]*crm.Customer, error) {
	profiles := items
	if pointer {
		ids := make([]string, len(items))
		for i, it := range items {
			if v, ok := it["customerId"].(*types.AttributeValueMemberS); ok {
				ids[i] = v.Value
			}
		}
		byID, err := s.batchGetProfiles(ctx, ids)
		if err != nil {
			return nil, err
		}
		profiles = make([]map[string]types.AttributeValue, len(items))
		for i, id := range ids {
			profiles[i] = byID[id]
		}
	}
	out := make([]*crm.Customer, len(profiles))
	for i, it := range profiles {
		if it == nil {
			continue
		}
		c, _, err := s.fromCustomerItem(ctx, it)
		if crm.ErrorCode(err) == crm.EINTEGRITY {
			// Fail closed for this item's sealed data, not for the list.
			c, err = plainCustomer(it)
			c.Unreadable = true
		}
		if err != nil {
			return nil, err
		}
		out[i] = &c
	}
	return out, nil
}

func (s *Table) batchGetProfiles(ctx context.Context, ids []string) (map[string]map[string]types.AttributeValue, error) {
	found := map[string]map[string]types.AttributeValue{}
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, itemKey(customerPK(id), skProfile))
		}
	}
	err := s.batchGet(ctx, "batch get customers", keys, func(it map[string]types.AttributeValue) {
		if v, ok := it["id"].(*types.AttributeValueMemberS); ok {
			found[v.Value] = it
		}
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// paginate Queries src from the page's cursor, decodes each batch of items
// (nil for an item to skip) and stops at the page's limit. The cursor it
// returns is the key of the last item returned, sealed with the filter's
// fingerprint so it cannot be altered or replayed against another filter.
func paginate[T any](ctx context.Context, s *Table, src source, p crm.Page, fingerprint string,
	decode func(context.Context, []map[string]types.AttributeValue) ([]*T, error)) ([]T, string, error) {
	return paginateTable(ctx, s, s.table, src, p, fingerprint, decode)
}

// paginateTable is paginate on the named table.
func paginateTable[T any](ctx context.Context, s *Table, table string, src source, p crm.Page, fingerprint string,
	decode func(context.Context, []map[string]types.AttributeValue) ([]*T, error)) ([]T, string, error) {
	start, err := s.openCursor(p.Cursor, fingerprint)
	if err != nil {
		return nil, "", err
	}
	if start != nil && src.nextPK != "" && strAttr(start, src.pkAttr) == src.nextPK {
		// The cursor is already in the second partition.
		src.pk, src.nextPK = src.nextPK, ""
	}
	cond := "#pk = :pk"
	names := map[string]string{"#pk": src.pkAttr}
	values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: src.pk}}
	switch {
	case src.skPrefix != "":
		cond += " AND begins_with(#sk, :sk)"
		names["#sk"], values[":sk"] = src.skAttr, &types.AttributeValueMemberS{Value: src.skPrefix}
	case src.skBelow != "":
		cond += " AND #sk < :sk"
		names["#sk"], values[":sk"] = src.skAttr, &types.AttributeValueMemberS{Value: src.skBelow}
	}
	out := []T{}
	for pages := 0; pages < maxPagesPerList; pages++ {
		in := &dynamodb.QueryInput{
			TableName: &table, KeyConditionExpression: &cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ExclusiveStartKey: start, ScanIndexForward: aws.Bool(src.ascending),
			// One more than needed, so a full last page is known to be last.
			Limit: aws.Int32(int32(p.Limit - len(out) + 1)),
		}
		if src.index != "" {
			in.IndexName = aws.String(src.index)
		}
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", wrap(err, "query "+src.index)
		}
		items, err := s.fetch(ctx, table, src.index, src.pkAttr, src.pk, res.Items)
		if err != nil {
			return nil, "", err
		}
		// The cursor is the position where an item was found in the index,
		// whatever its keys are now.
		foundAt := make(map[[2]string]map[string]types.AttributeValue, len(res.Items))
		for _, it := range res.Items {
			foundAt[itemKeyOf(it)] = it
		}
		decoded, err := decode(ctx, items)
		if err != nil {
			return nil, "", err
		}
		for i, d := range decoded {
			if d == nil {
				continue
			}
			out = append(out, *d)
			if len(out) == p.Limit {
				if itemKeyOf(items[i]) == itemKeyOf(res.Items[len(res.Items)-1]) && res.LastEvaluatedKey == nil && src.nextPK == "" {
					return out, "", nil
				}
				cur, err := s.sealCursor(keyOf(foundAt[itemKeyOf(items[i])], src.keyAttrs()), fingerprint)
				return out, cur, err
			}
		}
		if res.LastEvaluatedKey == nil && src.nextPK != "" {
			// On to the second partition, which no cursor key could point
			// at the start of: it does not count as a page.
			src.pk, src.nextPK = src.nextPK, ""
			values[":pk"] = &types.AttributeValueMemberS{Value: src.pk}
			start = nil
			pages--
			continue
		}
		if res.LastEvaluatedKey == nil {
			return out, "", nil
		}
		start = res.LastEvaluatedKey
	}
	cur, err := s.sealCursor(start, fingerprint)
	return out, cur, err
}

func keyOf(item map[string]types.AttributeValue, attrs []string) map[string]types.AttributeValue {
	k := make(map[string]types.AttributeValue, len(attrs))
	for _, a := range attrs {
		k[a] = item[a]
	}
	return k
}

type cursor struct {
	Key         map[string]string `json:"k"`
	Fingerprint []byte            `json:"f"`
}

// sealCursor encrypts and authenticates a Query position.
func (s *Table) sealCursor(key map[string]types.AttributeValue, fingerprint string) (string, error) {
	c := cursor{Key: map[string]string{}}
	for k, v := range key {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("cursor key %s is not a string", k)
		}
		c.Key[k] = sv.Value
	}
	fp := sha256.Sum256([]byte(fingerprint))
	c.Fingerprint = fp[:8]
	plain, _ := json.Marshal(c)
	return s.keyset().cur.cursors.Seal(plain), nil
}

// openCursor returns the Query position a cursor holds, nil for none.
func (s *Table) openCursor(token, fingerprint string) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	bad := crm.Invalid{{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this list issued"}}.Err()
	// A cursor issued before a rotation of the blind-index key opens
	// until the rotation retires the key it was sealed with.
	ks := s.keyset()
	plain, ok := ks.cur.cursors.Open(token)
	if !ok && ks.other != nil {
		plain, ok = ks.other.cursors.Open(token)
	}
	if !ok {
		return nil, bad
	}
	var c cursor
	fp := sha256.Sum256([]byte(fingerprint))
	if json.Unmarshal(plain, &c) != nil || !bytes.Equal(c.Fingerprint, fp[:8]) || len(c.Key) == 0 {
		return nil, bad
	}
	key := make(map[string]types.AttributeValue, len(c.Key))
	for k, v := range c.Key {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}
