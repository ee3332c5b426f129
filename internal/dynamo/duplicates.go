package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Likely duplicates (crm.ScorePair) are kept from the stream in four kinds
// of item:
//
//   - block members, "DUPBLK#<hash of a blocking key>" / "CUST#<id>", with
//     the customer's comparison signals: the customers that share a key;
//   - a state per customer, "DUP#<id>" / "STATE": the blocks it is filed
//     under, its owner, and whether it is in an open pair; it is what the
//     report aggregates count for likelyDuplicateRate;
//   - a reference per pair and side, "DUP#<id>" / "PAIR#<other>";
//   - the pair, "DUPPAIRS" / "<a>#<b>", with its score and reasons: what
//     GET /customers/duplicates reads.
//
// RefreshDuplicates recomputes one customer's part of these from its
// current profile, read consistently, so that a redelivered or reordered
// record converges on the present state.
const (
	entityDupBlock = "dupblock"
	entityDupState = "dupstate"
	entityDupRef   = "dupref"
	entityDupPair  = "duppair"
	dupPairsPK     = "DUPPAIRS"
	dupStateSK     = "STATE"
	dupRefPrefix   = "PAIR#"
)

// Comparison signals written on the profile item at write time: keyed
// hashes of the e-mail domain and phone tail, and the blind-index key
// version they were made with. Hashes under different versions do not
// compare.
const (
	attrDupDomain = "dupDomain"
	attrDupTail   = "dupTail"
	attrDupKeyVer = "dupKeyVer"
)

// dupSignalAttrs sets c's keyed-hash signals on its profile item.
func (s *Table) dupSignalAttrs(item map[string]types.AttributeValue, c crm.Customer) {
	k := s.keyset().cur
	item[attrDupKeyVer] = num(k.version)
	if d := crm.EmailDomainSignal(c.Email); d != "" {
		item[attrDupDomain] = &types.AttributeValueMemberS{Value: k.index.Index("dup-email-domain", d)}
	}
	if t := crm.PhoneTailSignal(c.Phone); t != "" {
		item[attrDupTail] = &types.AttributeValueMemberS{Value: k.index.Index("dup-phone-tail", t)}
	}
}

// rederiveDupSignals rewrites c's signals under the current key, during a
// blind-index key rotation, unless the profile changed meanwhile (its own
// write derived them anew).
func (s *Table) rederiveDupSignals(ctx context.Context, c crm.Customer) error {
	item := map[string]types.AttributeValue{}
	s.dupSignalAttrs(item, c)
	set := []string{"dupKeyVer = :k"}
	remove := []string{}
	values := map[string]types.AttributeValue{":k": item[attrDupKeyVer], ":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(c.Version, 10)}}
	for _, a := range []string{attrDupDomain, attrDupTail} {
		if v, ok := item[a]; ok {
			set = append(set, a+" = :"+a)
			values[":"+a] = v
		} else {
			remove = append(remove, a)
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: itemKey(customerPK(c.ID), skProfile),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: values})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err, "re-derive duplicate signals")
}

// dupSignalsOf reads a profile item's comparison signals; ok is false for
// anything but a live customer.
func dupSignalsOf(item map[string]types.AttributeValue) (sig crm.DupSignals, owner string, ok bool) {
	if strAttr(item, "type") != entityCustomer {
		return crm.DupSignals{}, "", false
	}
	sig = crm.DupSignals{ID: strAttr(item, "id"), Name: crm.NormalizeName(strAttr(item, "name")),
		Company: crm.NormalizeName(strAttr(item, "company")), Domain: strAttr(item, attrDupDomain), Tail: strAttr(item, attrDupTail)}
	if v, ok := item[attrDupKeyVer].(*types.AttributeValueMemberN); ok {
		sig.KeyVersion, _ = strconv.Atoi(v.Value)
	}
	return sig, strAttr(item, "ownerId"), true
}

// DuplicateSignalsChanged reports whether a stream record changes what a
// customer is compared on (or whether it is a live customer at all), with
// the customer's id.
func DuplicateSignalsChanged(keys, oldImage, newImage map[string]types.AttributeValue) (string, bool) {
	if !strings.HasPrefix(strAttr(keys, attrPK), "CUST#") || strAttr(keys, attrSK) != skProfile {
		return "", false
	}
	id := strings.TrimPrefix(strAttr(keys, attrPK), "CUST#")
	for _, a := range []string{"type", "name", "company", "ownerId", attrDupDomain, attrDupTail, attrDupKeyVer} {
		if !attrEqual(oldImage[a], newImage[a]) {
			return id, true
		}
	}
	return "", false
}

func attrEqual(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && x.Value == y.Value
	}
	return false
}

// dupBlockPK is a blocking key's partition. The key is hashed only to keep
// partition keys short and uniform: names are stored in plain by design.
func dupBlockPK(key string) string {
	h := sha256.Sum256([]byte(key))
	return "DUPBLK#" + hex.EncodeToString(h[:16])
}

func dupPK(id string) string { return "DUP#" + id }

func pairSK(a, b string) string { return a + "#" + b }

// RefreshDuplicates brings customer id's block memberships, pairs and state
// into line with its current profile: a customer that is gone or erased
// leaves every block and pair.
func (s *Customers) RefreshDuplicates(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	prof, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(id), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "get customer "+id)
	}
	me, owner, live := dupSignalsOf(prof.Item)
	if live && s.expired(prof.Item) {
		live = false
	}
	var blocks []string
	if live {
		for _, k := range crm.BlockingKeys(me.Name) {
			blocks = append(blocks, dupBlockPK(k))
		}
	}
	state, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(dupPK(id), dupStateSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "get duplicate state")
	}
	for _, old := range strList(state.Item["blocks"]) {
		if !slices.Contains(blocks, old) {
			if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(old, customerPK(id))}); err != nil {
				return wrap(err, "leave duplicate block")
			}
		}
	}
	want := map[string]crm.LikelyDuplicate{}
	if live {
		sig, _ := json.Marshal(me)
		for _, b := range blocks {
			item := itemKey(b, customerPK(id))
			item["type"] = &types.AttributeValueMemberS{Value: entityDupBlock}
			item["customerId"] = &types.AttributeValueMemberS{Value: id}
			item["sig"] = &types.AttributeValueMemberS{Value: string(sig)}
			if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
				return wrap(err, "join duplicate block")
			}
			if err := s.eachInPartition(ctx, b, "", func(m map[string]types.AttributeValue) error {
				var other crm.DupSignals
				if json.Unmarshal([]byte(strAttr(m, "sig")), &other) != nil || other.ID == id {
					return nil
				}
				if p, ok := crm.ScorePair(me, other); ok {
					want[other.ID] = p
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	var had []string
	if err := s.eachInPartition(ctx, dupPK(id), dupRefPrefix, func(m map[string]types.AttributeValue) error {
		had = append(had, strings.TrimPrefix(strAttr(m, attrSK), dupRefPrefix))
		return nil
	}); err != nil {
		return err
	}
	for _, other := range had {
		if _, ok := want[other]; ok {
			continue
		}
		a, b := min(id, other), max(id, other)
		for _, key := range []map[string]types.AttributeValue{itemKey(dupPairsPK, pairSK(a, b)), itemKey(dupPK(id), dupRefPrefix+other), itemKey(dupPK(other), dupRefPrefix+id)} {
			if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key}); err != nil {
				return wrap(err, "close duplicate pair")
			}
		}
		if err := s.markInPair(ctx, other); err != nil {
			return err
		}
	}
	for _, other := range sortedKeys(want) {
		p := want[other]
		pair := itemKey(dupPairsPK, pairSK(p.A, p.B))
		pair["type"] = &types.AttributeValueMemberS{Value: entityDupPair}
		pair["a"], pair["b"] = &types.AttributeValueMemberS{Value: p.A}, &types.AttributeValueMemberS{Value: p.B}
		pair["score"] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(p.Score, 'f', -1, 64)}
		pair["reasons"] = strListAttr(p.Reasons)
		ops := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: pair}}}
		for _, side := range [][2]string{{id, other}, {other, id}} {
			ref := itemKey(dupPK(side[0]), dupRefPrefix+side[1])
			ref["type"] = &types.AttributeValueMemberS{Value: entityDupRef}
			ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: ref}})
		}
		if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}); err != nil {
			return wrap(err, "open duplicate pair")
		}
		if err := s.markInPair(ctx, other); err != nil {
			return err
		}
	}
	if !live {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(dupPK(id), dupStateSK)})
		return wrap(err, "delete duplicate state")
	}
	st := itemKey(dupPK(id), dupStateSK)
	st["type"] = &types.AttributeValueMemberS{Value: entityDupState}
	st["customerId"] = &types.AttributeValueMemberS{Value: id}
	st["ownerId"] = &types.AttributeValueMemberS{Value: owner}
	st["inPair"] = &types.AttributeValueMemberBOOL{Value: len(want) > 0}
	if len(blocks) > 0 {
		st["blocks"] = strListAttr(blocks)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: st})
	return wrap(err, "put duplicate state")
}

// markInPair sets whether other is in an open pair from its references.
// A customer with no state yet gets one when its own record is applied.
func (s *Customers) markInPair(ctx context.Context, other string) error {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true), Select: types.SelectCount,
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: dupPK(other)},
			":p": &types.AttributeValueMemberS{Value: dupRefPrefix}}})
	if err != nil {
		return wrap(err, "count duplicate pairs")
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: itemKey(dupPK(other), dupStateSK),
		UpdateExpression: aws.String("SET inPair = :b"), ConditionExpression: aws.String("attribute_exists(PK) AND inPair <> :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberBOOL{Value: out.Count > 0}}})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err, "mark duplicate state")
}

// eachInPartition calls each with every item of partition pk whose sort
// key begins with prefix, read consistently.
func (s *Table) eachInPartition(ctx context.Context, pk, prefix string, each func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("PK = :pk AND begins_with(SK, :p)")
		in.ExpressionAttributeValues[":p"] = &types.AttributeValueMemberS{Value: prefix}
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(err, "query "+strings.SplitN(pk, "#", 2)[0])
		}
		for _, item := range page.Items {
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// LikelyDuplicates implements crm.DuplicateStore: one Query of the pairs'
// partition, best first.
func (s *Customers) LikelyDuplicates(ctx context.Context, limit int) ([]crm.LikelyDuplicate, error) {
	out := []crm.LikelyDuplicate{}
	err := s.eachInPartition(ctx, dupPairsPK, "", func(m map[string]types.AttributeValue) error {
		p := crm.LikelyDuplicate{A: strAttr(m, "a"), B: strAttr(m, "b"), Reasons: strList(m["reasons"])}
		if n, ok := m["score"].(*types.AttributeValueMemberN); ok {
			p.Score, _ = strconv.ParseFloat(n.Value, 64)
		}
		out = append(out, p)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// RebuildDuplicates re-derives every customer's blocks, pairs and state
// from the profiles, as the stream would: a Scan finds every customer,
// erased or not, and every state left behind. The report aggregates follow
// from the stream (or `reports rebuild`).
func (s *Customers) RebuildDuplicates(ctx context.Context, progress io.Writer) (int, error) {
	seen := map[string]bool{}
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		FilterExpression:         aws.String("#t IN (:c, :e, :s)"),
		ProjectionExpression:     aws.String("#t, id, customerId"),
		ExpressionAttributeNames: map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: entityCustomer},
			":e": &types.AttributeValueMemberS{Value: entityTombstone}, ":s": &types.AttributeValueMemberS{Value: entityDupState}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return len(seen), wrap(err, "scan customers")
		}
		for _, item := range page.Items {
			id := strAttr(item, "id")
			if strAttr(item, "type") == entityDupState {
				id = strAttr(item, "customerId")
			}
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			if err := s.RefreshDuplicates(ctx, id); err != nil {
				return len(seen), err
			}
			if progress != nil && len(seen)%1000 == 0 {
				fmt.Fprintf(progress, "refreshed %d customers\n", len(seen))
			}
		}
	}
	if progress != nil {
		fmt.Fprintf(progress, "refreshed the likely duplicates of %d customers\n", len(seen))
	}
	return len(seen), nil
}

// dupStateContribution is what a duplicate state counts for in the report
// aggregates: its customer, when in an open pair, is a likely duplicate.
func dupStateContribution(item map[string]types.AttributeValue) contribution {
	in, _ := item["inPair"].(*types.AttributeValueMemberBOOL)
	id := strAttr(item, "customerId")
	if in == nil || !in.Value {
		return contribution{counts: crm.Contribution{}, entity: id}
	}
	return contribution{counts: crm.LikelyDuplicateContribution(strAttr(item, "ownerId")), entity: id}
}

func strList(v types.AttributeValue) []string {
	var out []string
	switch x := v.(type) {
	case *types.AttributeValueMemberL:
		for _, e := range x.Value {
			if s, ok := e.(*types.AttributeValueMemberS); ok {
				out = append(out, s.Value)
			}
		}
	case *types.AttributeValueMemberSS:
		out = append(out, x.Value...)
	}
	return out
}

func strListAttr(ss []string) types.AttributeValue {
	l := &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	for _, s := range ss {
		l.Value = append(l.Value, &types.AttributeValueMemberS{Value: s})
	}
	return l
}
