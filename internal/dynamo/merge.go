package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// A merge writes, in one transaction: the survivor's profile, the
// merged-away profile replaced by a redirect, the uniqueness claims and
// lookup entries that move, the tags and search entries, the sealed undo
// snapshot (MERGE#id / MERGE) and a pointer from the merged-away customer
// to it (MERGE#id / FROM), so that erasing either customer finds it. The
// children move after (repoint.go).

const (
	// entityMerged is a merged-away customer's profile: a redirect.
	entityMerged = "merged"
	// entityMergeSnapshot is a merge's undo snapshot.
	entityMergeSnapshot = "mergeSnapshot"
	entityMergeRef      = "mergeRef"
	skMergeSnapshot     = "MERGE"
	skMergeRef          = "FROM"
)

var _ crm.MergeStore = (*Customers)(nil)

func mergePK(id string) string { return "MERGE#" + id }

func mergeSubject(customerID string) string { return "MERGESUBJ#" + customerID }

// redirectItem replaces a merged-away customer's profile. It holds no
// personal data: the survivor's id, the merge, the owner (a staff id) and
// the claims it keeps reserved while the merge can be undone.
type redirectItem struct {
	PK         string    `dynamodbav:"PK"`
	SK         string    `dynamodbav:"SK"`
	Type       string    `dynamodbav:"type"`
	ID         string    `dynamodbav:"id"`
	MergedInto string    `dynamodbav:"mergedInto"`
	MergeID    string    `dynamodbav:"mergeId"`
	OwnerID    string    `dynamodbav:"ownerId"`
	Version    int64     `dynamodbav:"version"`
	MergedAt   time.Time `dynamodbav:"mergedAt"`
	MergedBy   string    `dynamodbav:"mergedBy"`
	Claims     []string  `dynamodbav:"claims"`
	// UndoUntil (Unix seconds) ends the claims' reservation: past it, or
	// once an erasure purged the snapshot (0), the claims are released
	// to the next customer that needs the value.
	UndoUntil int64 `dynamodbav:"undoUntil"`
}

// snapshotItem is a merge's undo snapshot; mergeSecrets are sealed.
type snapshotItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	GSI5PK    string    `dynamodbav:"GSI5PK"`
	GSI5SK    string    `dynamodbav:"GSI5SK"`
	ID        string    `dynamodbav:"id"`
	Into      string    `dynamodbav:"into"`
	From      string    `dynamodbav:"from"`
	Touched   []string  `dynamodbav:"touched"`
	Status    string    `dynamodbav:"status"`
	At        time.Time `dynamodbav:"at"`
	By        string    `dynamodbav:"by"`
	UndoUntil time.Time `dynamodbav:"undoUntil"`
	ExpiresAt int64     `dynamodbav:"expiresAt"`
}

// snapCustomer is a customer as the snapshot keeps it: with the fields
// its JSON form leaves out.
type snapCustomer struct {
	crm.Customer
	CreatedBy string   `json:"createdBy"`
	Claims    []string `json:"claims"`
}

type mergeSecrets struct {
	PrevInto *snapCustomer `json:"prevInto"`
	PrevFrom *snapCustomer `json:"prevFrom"`
	NextInto *snapCustomer `json:"nextInto"`
}

// heldClaims reads the claims attribute of a stored profile.
func heldClaims(item map[string]types.AttributeValue) []string { return strList(item["claims"]) }

// claimParty is one customer of a claim move: its lookup values and
// claims before and after, and whether it is found by lookup (a redirect
// is not).
type claimParty struct {
	id                        string
	before, after             crm.Customer
	heldBefore, heldAfter     []string
	memberBefore, memberAfter bool
}

// claimMoves returns the writes that take the parties' uniqueness claims
// and lookup entries from before to after. A claim passing from one party
// to the other is rewritten in place, conditioned on its holder.
func (s *Table) claimMoves(parties []claimParty) []types.TransactWriteItem {
	var ops []types.TransactWriteItem
	ks := s.keyset()
	for _, f := range lookupFields {
		owner, next := map[string]string{}, map[string]string{}
		var values []string
		for _, p := range parties {
			if v := f.value(p.before); v != "" && slices.Contains(p.heldBefore, f.name) {
				owner[v] = p.id
				values = append(values, v)
			}
			if v := f.value(p.after); v != "" && slices.Contains(p.heldAfter, f.name) {
				next[v] = p.id
				values = append(values, v)
			}
		}
		slices.Sort(values)
		for _, v := range slices.Compact(values) {
			a, b := owner[v], next[v]
			switch {
			case a == b:
			case a != "" && b != "":
				item := itemKey(indexPK(ks.cur, f.name, v), skClaim)
				item["customerId"] = &types.AttributeValueMemberS{Value: b}
				item["field"] = &types.AttributeValueMemberS{Value: f.name}
				item["type"] = &types.AttributeValueMemberS{Value: "claim"}
				held := map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: a}}
				cond := "customerId = :a"
				if ks.other != nil {
					// Under one key or the other, as the re-derivation left it.
					cond = "attribute_not_exists(PK) OR customerId = :a"
					ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
						Key: itemKey(indexPK(ks.other, f.name, v), skClaim), ConditionExpression: aws.String(cond), ExpressionAttributeValues: held}})
				}
				ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
					ConditionExpression: aws.String(cond), ExpressionAttributeValues: held}})
			case a != "":
				ops = append(ops, s.claimDelete(f.name, v, a)...)
			default:
				ops = append(ops, s.claimPut(f.name, v, b)...)
			}
		}
		for _, p := range parties {
			bm, am := "", ""
			if p.memberBefore {
				bm = f.value(p.before)
			}
			if p.memberAfter {
				am = f.value(p.after)
			}
			if bm == am {
				continue
			}
			if bm != "" {
				ops = append(ops, s.memberDelete(f.name, bm, p.id)...)
			}
			if am != "" {
				ops = append(ops, s.memberPut(f.name, am, p.id))
			}
		}
	}
	return ops
}

// tagMoves returns the tag writes taking customer id from before's tags
// to after's; after nil removes them all.
func (s *Table) tagMoves(id string, before []string, after *crm.Customer) []types.TransactWriteItem {
	var ops []types.TransactWriteItem
	var want []string
	if after != nil {
		want = after.Tags
	}
	for _, t := range before {
		if !slices.Contains(want, t) {
			ops = append(ops, s.tagDelete(id, t))
		}
	}
	for _, t := range want {
		if !slices.Contains(before, t) {
			ops = append(ops, s.tagPut(*after, t))
		}
	}
	return ops
}

// MergeCustomers implements crm.MergeStore. The claims of the merged-away
// customer move to the survivor where the survivor takes its value; the
// others stay reserved by the redirect, so that an undo can restore them,
// until the undo window closes or an erasure purges the snapshot.
func (s *Customers) MergeCustomers(ctx context.Context, m crm.Merge, decided *crm.Approval, a crm.Audit) error {
	intoItem, err := s.getCustomerItem(ctx, m.IntoID)
	if err != nil {
		return err
	}
	fromItem, err := s.getCustomerItem(ctx, m.FromID)
	if err != nil {
		return err
	}
	intoHeld, fromHeld := heldClaims(intoItem), heldClaims(fromItem)
	m.PrevIntoClaims, m.PrevFromClaims = intoHeld, fromHeld
	next := m.NextInto
	var nextHeld, redirectHeld []string
	for _, f := range lookupFields {
		v := f.value(next)
		switch {
		case v == "":
		case v == f.value(m.PrevInto) && slices.Contains(intoHeld, f.name),
			v == f.value(m.PrevFrom) && slices.Contains(fromHeld, f.name):
			nextHeld = append(nextHeld, f.name)
		default:
			// A value the survivor takes that neither held (an allowed
			// duplicate): claimed if free, else shared as before.
			holder, err := s.claimHolder(ctx, f.name, v)
			if err != nil {
				return err
			}
			if holder == "" {
				nextHeld = append(nextHeld, f.name)
			}
		}
		if fv := f.value(m.PrevFrom); fv != "" && fv != v && slices.Contains(fromHeld, f.name) {
			redirectHeld = append(redirectHeld, f.name)
		}
	}
	redirect := crm.Customer{ID: m.FromID}
	for _, f := range lookupFields {
		if slices.Contains(redirectHeld, f.name) {
			setLookup(&redirect, f.name, f.value(m.PrevFrom))
		}
	}
	ops := s.claimMoves([]claimParty{
		{id: m.IntoID, before: m.PrevInto, after: next, heldBefore: intoHeld, heldAfter: nextHeld, memberBefore: true, memberAfter: true},
		{id: m.FromID, before: m.PrevFrom, after: redirect, heldBefore: fromHeld, heldAfter: redirectHeld, memberBefore: true},
	})
	ops = append(ops, s.tagMoves(m.IntoID, m.PrevInto.Tags, &next)...)
	ops = append(ops, s.tagMoves(m.FromID, m.PrevFrom.Tags, nil)...)
	ops = append(ops, s.searchOps(&m.PrevInto, &next)...)
	ops = append(ops, s.searchOps(&m.PrevFrom, nil)...)
	consents, err := s.consentPuts(next)
	if err != nil {
		return err
	}
	for _, op := range consents {
		// The merge's own consent records are the undo's to remove: named
		// by the merge, and keyed apart from the survivor's.
		op.Put.Item[attrSK] = &types.AttributeValueMemberS{Value: strAttr(op.Put.Item, attrSK) + "#" + m.ID + "#merge"}
		op.Put.Item[attrMergeAppended] = &types.AttributeValueMemberS{Value: m.ID}
		ops = append(ops, op)
	}
	put, err := s.profilePut(ctx, next, nextHeld, intoItem, m.PrevInto.Version)
	if err != nil {
		return err
	}
	ops = append(ops, put)
	red, err := attributevalue.MarshalMap(redirectItem{PK: customerPK(m.FromID), SK: skProfile, Type: entityMerged, ID: m.FromID,
		MergedInto: m.IntoID, MergeID: m.ID, OwnerID: m.PrevFrom.OwnerID, Version: m.PrevFrom.Version + 1, MergedAt: m.At, MergedBy: m.By,
		Claims: nonNil(redirectHeld), UndoUntil: m.UndoUntil.Unix()})
	if err != nil {
		return fmt.Errorf("marshal redirect: %w", err)
	}
	carryChainHead(fromItem, red)
	ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: red,
		ConditionExpression:       aws.String("#t = :customer AND version = :v"),
		ExpressionAttributeNames:  map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":customer": &types.AttributeValueMemberS{Value: entityCustomer}, ":v": &types.AttributeValueMemberN{Value: fmt.Sprint(m.PrevFrom.Version)}}}})
	snap, ref, err := s.snapshotItems(ctx, m)
	if err != nil {
		return err
	}
	ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: snap, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: ref}})
	if decided != nil {
		ops = append(ops, s.closeOp(*decided))
	}
	return s.mergeTransact(ctx, ops, a, []crm.Customer{next}, m.IntoID, m.FromID)
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func setLookup(c *crm.Customer, field, v string) {
	switch field {
	case crm.FieldPhone:
		c.Phone = v
	case crm.FieldEmail:
		c.Email = v
	case crm.FieldNationalID:
		c.NationalID = v
	}
}

// snapshotItems builds the sealed snapshot of m and its pointer.
func (s *Table) snapshotItems(ctx context.Context, m crm.Merge) (snap, ref map[string]types.AttributeValue, err error) {
	snap, err = attributevalue.MarshalMap(snapshotItem{PK: mergePK(m.ID), SK: skMergeSnapshot, Type: entityMergeSnapshot,
		GSI5PK: mergeSubject(m.IntoID), GSI5SK: m.ID, ID: m.ID, Into: m.IntoID, From: m.FromID, Touched: nonNil(m.Touched),
		Status: crm.MergeDone, At: m.At, By: m.By, UndoUntil: m.UndoUntil, ExpiresAt: m.UndoUntil.Unix()})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal merge snapshot: %w", err)
	}
	sec := mergeSecrets{
		PrevInto: &snapCustomer{Customer: m.PrevInto, CreatedBy: m.PrevInto.CreatedBy, Claims: m.PrevIntoClaims},
		PrevFrom: &snapCustomer{Customer: m.PrevFrom, CreatedBy: m.PrevFrom.CreatedBy, Claims: m.PrevFromClaims},
		NextInto: &snapCustomer{Customer: m.NextInto, CreatedBy: m.NextInto.CreatedBy},
	}
	if err := s.seal(ctx, entityMergeSnapshot, snap, &sec); err != nil {
		return nil, nil, err
	}
	ref = itemKey(mergePK(m.ID), skMergeRef)
	ref["type"] = &types.AttributeValueMemberS{Value: entityMergeRef}
	ref["GSI5PK"] = &types.AttributeValueMemberS{Value: mergeSubject(m.FromID)}
	ref["GSI5SK"] = &types.AttributeValueMemberS{Value: m.ID}
	ref[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(m.UndoUntil.Unix(), 10)}
	return snap, ref, nil
}

// mergeTransact runs a merge or an undo with its audit entry and explains
// a cancellation: a claim held by a third customer is a duplicate, a
// failed condition a lost race.
func (s *Table) mergeTransact(ctx context.Context, ops []types.TransactWriteItem, a crm.Audit, claimants []crm.Customer, ours ...string) error {
	err := s.writeAudited(ctx, a, ops)
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return wrap(err, "merge "+a.EntityID)
	}
	return s.explainCanceled(ctx, tce, claimants, ours, "a customer of the merge was changed by someone else")
}

// GetMerge implements crm.MergeStore.
func (s *Customers) GetMerge(ctx context.Context, id string) (crm.Merge, error) {
	if !validID(id) {
		return crm.Merge{}, crm.Errorf(crm.ENOTFOUND, "merge not found")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(mergePK(id), skMergeSnapshot), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Merge{}, wrap(err, "get merge")
	}
	if out.Item == nil {
		return crm.Merge{}, crm.Errorf(crm.ENOTFOUND, "merge %s not found", id)
	}
	var it snapshotItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return crm.Merge{}, fmt.Errorf("unmarshal merge snapshot: %w", err)
	}
	m := crm.Merge{ID: it.ID, IntoID: it.Into, FromID: it.From, Touched: it.Touched, Status: it.Status, At: it.At.UTC(), By: it.By, UndoUntil: it.UndoUntil.UTC()}
	if m.Status != crm.MergeDone || s.expired(out.Item) {
		// Undone or purged: nothing sealed is left to open; expired: the
		// service tells by UndoUntil.
		return m, nil
	}
	var sec mergeSecrets
	if err := s.open(ctx, entityMergeSnapshot, out.Item, &sec); err != nil {
		return crm.Merge{}, err
	}
	if sec.PrevInto == nil || sec.PrevFrom == nil || sec.NextInto == nil {
		return crm.Merge{}, integrityError()
	}
	for _, c := range []*snapCustomer{sec.PrevInto, sec.PrevFrom, sec.NextInto} {
		c.Customer.CreatedBy = c.CreatedBy
	}
	m.PrevInto, m.PrevFrom, m.NextInto = sec.PrevInto.Customer, sec.PrevFrom.Customer, sec.NextInto.Customer
	m.PrevIntoClaims, m.PrevFromClaims = sec.PrevInto.Claims, sec.PrevFrom.Claims
	return m, nil
}

// UndoMerge implements crm.MergeStore.
func (s *Customers) UndoMerge(ctx context.Context, m crm.Merge, cur, next crm.Customer, a crm.Audit) error {
	intoItem, err := s.getCustomerItem(ctx, m.IntoID)
	if err != nil {
		return err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(m.FromID), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "get merged customer")
	}
	if strAttr(out.Item, "type") != entityMerged || strAttr(out.Item, "mergeId") != m.ID {
		return crm.Errorf(crm.ECONFLICT, "merge %s was undone already", m.ID)
	}
	var red redirectItem
	if err := attributevalue.UnmarshalMap(out.Item, &red); err != nil {
		return fmt.Errorf("unmarshal redirect: %w", err)
	}
	intoHeld := heldClaims(intoItem)
	var nextHeld []string
	for _, f := range lookupFields {
		v := f.value(next)
		switch {
		case v == "":
		case slices.Contains(m.Touched, f.name):
			if slices.Contains(m.PrevIntoClaims, f.name) {
				nextHeld = append(nextHeld, f.name)
			}
		case slices.Contains(intoHeld, f.name):
			nextHeld = append(nextHeld, f.name)
		}
	}
	redirect := crm.Customer{ID: m.FromID}
	for _, f := range lookupFields {
		if slices.Contains(red.Claims, f.name) {
			setLookup(&redirect, f.name, f.value(m.PrevFrom))
		}
	}
	from := m.PrevFrom
	from.Version = red.Version + 1
	ops := s.claimMoves([]claimParty{
		{id: m.IntoID, before: cur, after: next, heldBefore: intoHeld, heldAfter: nextHeld, memberBefore: true, memberAfter: true},
		{id: m.FromID, before: redirect, after: from, heldBefore: red.Claims, heldAfter: m.PrevFromClaims, memberAfter: true},
	})
	ops = append(ops, s.tagMoves(m.IntoID, cur.Tags, &next)...)
	ops = append(ops, s.tagMoves(m.FromID, nil, &from)...)
	ops = append(ops, s.searchOps(&cur, &next)...)
	ops = append(ops, s.searchOps(nil, &from)...)
	err = s.eachInPartition(ctx, customerPK(m.IntoID), skConsentPrefix, func(item map[string]types.AttributeValue) error {
		if strAttr(item, attrMergeAppended) == m.ID {
			ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
				Key: map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]}}})
		}
		return nil
	})
	if err != nil {
		return err
	}
	put, err := s.profilePut(ctx, next, nextHeld, intoItem, cur.Version)
	if err != nil {
		return err
	}
	ops = append(ops, put)
	back, err := s.toCustomerItem(ctx, from, m.PrevFromClaims)
	if err != nil {
		return err
	}
	carryChainHead(out.Item, back)
	// Who undid it, for the customer.unmerged event: the audit entry is
	// on the survivor's chain.
	back["unmergedBy"] = &types.AttributeValueMemberS{Value: a.Actor.ID}
	back["unmergedAt"] = &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}
	ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: back,
		ConditionExpression:      aws.String("#t = :merged AND mergeId = :m AND version = :v"),
		ExpressionAttributeNames: map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":merged": &types.AttributeValueMemberS{Value: entityMerged},
			":m": &types.AttributeValueMemberS{Value: m.ID}, ":v": &types.AttributeValueMemberN{Value: fmt.Sprint(red.Version)}}}})
	// Undone, the snapshot has served: its personal data goes now, and
	// the rest stays until its expiry, so a second undo is told why not.
	ops = append(ops, types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: itemKey(mergePK(m.ID), skMergeSnapshot),
		UpdateExpression:          aws.String("SET #st = :undone REMOVE sealed, edk"),
		ConditionExpression:       aws.String("#st = :done"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":undone": &types.AttributeValueMemberS{Value: crm.MergeUndone}, ":done": &types.AttributeValueMemberS{Value: crm.MergeDone}}}})
	err = s.mergeTransact(ctx, ops, a, []crm.Customer{next, from}, m.IntoID, m.FromID)
	if crm.ErrorCode(err) == crm.EPRECONDITION {
		if again, gerr := s.GetMerge(ctx, m.ID); gerr == nil && again.Status == crm.MergeUndone {
			return crm.Errorf(crm.ECONFLICT, "merge %s was undone already", m.ID)
		}
		return crm.Errorf(crm.ECONFLICT, "a customer of the merge changed meanwhile; retry")
	}
	if err != nil {
		return err
	}
	return s.moveChildren(ctx, m.IntoID, m.FromID, from.OwnerID, m.ID, true, true)
}

// MoveMergedChildren implements crm.MergeStore: while the merged-away
// customer is still a redirect of m (of any merge into m.IntoID when m.ID
// is empty), its children move to the survivor.
func (s *Customers) MoveMergedChildren(ctx context.Context, m crm.Merge) error {
	return s.moveMerged(ctx, m, true)
}

// MoveUnmergedChildren implements crm.MergeStore: once the merged-away
// customer is back and m undone, what m moved goes back.
func (s *Customers) MoveUnmergedChildren(ctx context.Context, m crm.Merge) error {
	return s.moveUnmerged(ctx, m, true)
}

// FollowMerge finishes, from the stream, what a merge (or, undone, its
// undo) left: the children that need no sealing. The interactions are
// the request's, or its retry's, to move (moveChildren says why).
func (s *Customers) FollowMerge(ctx context.Context, m crm.Merge, undone bool) error {
	if undone {
		return s.moveUnmerged(ctx, m, false)
	}
	return s.moveMerged(ctx, m, false)
}

func (s *Customers) moveMerged(ctx context.Context, m crm.Merge, sealed bool) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(m.FromID), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "get merged customer")
	}
	if strAttr(out.Item, "type") != entityMerged || strAttr(out.Item, "mergedInto") != m.IntoID ||
		(m.ID != "" && strAttr(out.Item, "mergeId") != m.ID) {
		return nil
	}
	owner, err := s.ownerOf(ctx, m.IntoID)
	if err != nil || owner == "" {
		return err
	}
	return s.moveChildren(ctx, m.FromID, m.IntoID, owner, strAttr(out.Item, "mergeId"), false, sealed)
}

func (s *Customers) moveUnmerged(ctx context.Context, m crm.Merge, sealed bool) error {
	snap, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(mergePK(m.ID), skMergeSnapshot),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#st"), ExpressionAttributeNames: map[string]string{"#st": "status"}})
	if err != nil {
		return wrap(err, "get merge")
	}
	if strAttr(snap.Item, "status") != crm.MergeUndone {
		return nil
	}
	owner, err := s.ownerOf(ctx, m.FromID)
	if err != nil || owner == "" {
		return err
	}
	return s.moveChildren(ctx, m.IntoID, m.FromID, owner, m.ID, true, sealed)
}

// ownerOf returns a live customer's owner, "" for any other.
func (s *Table) ownerOf(ctx context.Context, id string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(id), skProfile), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#t, ownerId"), ExpressionAttributeNames: map[string]string{"#t": "type"}})
	if err != nil {
		return "", wrap(err, "get customer "+id)
	}
	if strAttr(out.Item, "type") != entityCustomer {
		return "", nil
	}
	return strAttr(out.Item, "ownerId"), nil
}

// MergeChange reports whether a stream record is a merge or its undo:
// a profile turning into a redirect, or back. The merge carries the ids
// only.
func MergeChange(oldImage, newImage map[string]types.AttributeValue) (m crm.Merge, undone, ok bool) {
	switch {
	case strAttr(oldImage, "type") == entityCustomer && strAttr(newImage, "type") == entityMerged:
		return crm.Merge{ID: strAttr(newImage, "mergeId"), IntoID: strAttr(newImage, "mergedInto"), FromID: strAttr(newImage, "id")}, false, true
	case strAttr(oldImage, "type") == entityMerged && strAttr(newImage, "type") == entityCustomer:
		return crm.Merge{ID: strAttr(oldImage, "mergeId"), IntoID: strAttr(oldImage, "mergedInto"), FromID: strAttr(newImage, "id")}, true, true
	}
	return crm.Merge{}, false, false
}

// purgeMerges destroys the undo snapshots of customer id's merges, as
// survivor or as merged-away customer: erasure leaves nothing to undo
// with. The redirect's reserved claims are released with them.
func (s *Table) purgeMerges(ctx context.Context, id string) error {
	refs, err := s.keysOf(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexBySubject),
		KeyConditionExpression:    aws.String("GSI5PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: mergeSubject(id)}}})
	if err != nil {
		return err
	}
	for _, k := range refs {
		pk := k[attrPK].(*types.AttributeValueMemberS).Value
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: itemKey(pk, skMergeSnapshot),
			UpdateExpression:          aws.String("SET #st = :purged REMOVE sealed, edk"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":purged": &types.AttributeValueMemberS{Value: crm.MergePurged}},
			ReturnValues:              types.ReturnValueAllNew})
		if isConditionFailed(err) {
			continue
		}
		if err != nil {
			return wrap(err, "purge merge snapshot")
		}
		from := strAttr(out.Attributes, "from")
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: itemKey(customerPK(from), skProfile),
			UpdateExpression: aws.String("SET undoUntil = :zero"), ConditionExpression: aws.String("#t = :merged AND mergeId = :m"),
			ExpressionAttributeNames: map[string]string{"#t": "type"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": &types.AttributeValueMemberN{Value: "0"},
				":merged": &types.AttributeValueMemberS{Value: entityMerged}, ":m": &types.AttributeValueMemberS{Value: strAttr(out.Attributes, "id")}}})
		if err != nil && !isConditionFailed(err) {
			return wrap(err, "release redirect claims")
		}
	}
	return nil
}

// redirectReleased reports whether a redirect's reserved claims are free:
// its merge can no longer be undone.
func (s *Table) redirectReleased(item map[string]types.AttributeValue) bool {
	v, _ := item["undoUntil"].(*types.AttributeValueMemberN)
	if v == nil {
		return true
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return err != nil || n <= s.now().Unix()
}
