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

const (
	entityCustomer    = "customer"
	entityInteraction = "interaction"
	skProfile         = "PROFILE"
)

func customerPK(id string) string { return "CUST#" + id }

// customerItem is a customer's profile item, less its sealed fields.
type customerItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`
	GSI3PK string `dynamodbav:"GSI3PK"`
	GSI3SK string `dynamodbav:"GSI3SK"`
	GSI4PK string `dynamodbav:"GSI4PK"`
	GSI4SK string `dynamodbav:"GSI4SK"`
	GSI8PK string `dynamodbav:"GSI8PK,omitempty"`
	GSI8SK string `dynamodbav:"GSI8SK,omitempty"`

	ID          string      `dynamodbav:"id"`
	Name        string      `dynamodbav:"name"`
	Company     string      `dynamodbav:"company,omitempty"`
	Segment     string      `dynamodbav:"segment,omitempty"`
	Tags        []string    `dynamodbav:"tags,omitempty"`
	OwnerID     string      `dynamodbav:"ownerId"`
	Consent     crm.Consent `dynamodbav:"consent"`
	Language    string      `dynamodbav:"language,omitempty"`
	CreatedAt   time.Time   `dynamodbav:"createdAt"`
	CreatedBy   string      `dynamodbav:"createdBy"`
	UpdatedAt   time.Time   `dynamodbav:"updatedAt"`
	VerifiedAt  *time.Time  `dynamodbav:"verifiedAt,omitempty"`
	ReviewDueAt time.Time   `dynamodbav:"reviewDueAt"`
	Version     int64       `dynamodbav:"version"`
	// Claims lists the lookup fields whose uniqueness claim this customer
	// holds (an admin-allowed duplicate holds none for the shared value).
	Claims []string `dynamodbav:"claims,omitempty"`
	// Lost and Suspect are plain by design: a staff verdict and reason
	// codes, neither of them personal data.
	Lost    *crm.Lost `dynamodbav:"lost,omitempty"`
	Suspect []string  `dynamodbav:"suspect,omitempty"`
}

// customerSecrets are the customer's sealed fields.
type customerSecrets struct {
	Phone      string       `json:"phone"`
	Email      string       `json:"email"`
	Address    *crm.Address `json:"address"`
	NationalID string       `json:"nationalId"`
	Billing    *crm.Billing `json:"billing"`
}

func (s *Table) toCustomerItem(ctx context.Context, c crm.Customer, claims []string) (map[string]types.AttributeValue, error) {
	created := sortTime(c.CreatedAt) + "#" + c.ID
	it := customerItem{
		PK: customerPK(c.ID), SK: skProfile, Type: entityCustomer,
		GSI1PK: "OWNER#" + c.OwnerID, GSI1SK: created,
		GSI3PK: "CUSTOMER", GSI3SK: created,
		GSI4PK: "REVIEW", GSI4SK: sortTime(c.ReviewDueAt) + "#" + c.ID,
		ID: c.ID, Name: c.Name, Company: c.Company, Segment: c.Segment, Tags: c.Tags,
		OwnerID: c.OwnerID, Consent: c.Consent, Language: c.Language, CreatedAt: c.CreatedAt, CreatedBy: c.CreatedBy,
		UpdatedAt: c.UpdatedAt, ReviewDueAt: c.ReviewDueAt, Version: c.Version, Claims: claims,
		Lost: c.Lost, Suspect: c.Suspect,
	}
	// Every write starts a new review cycle, marked for the reminder run.
	it.GSI8PK, it.GSI8SK = dueMark(crm.DueReview, c.ID, c.ReviewDueAt)
	if c.Segment != "" {
		it.GSI2PK, it.GSI2SK = "SEG#"+c.Segment, created
	}
	if !c.VerifiedAt.IsZero() {
		v := c.VerifiedAt
		it.VerifiedAt = &v
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal customer %s: %w", c.ID, err)
	}
	s.dupSignalAttrs(item, c)
	sec := customerSecrets{Phone: c.Phone, Email: c.Email, Address: c.Address, NationalID: c.NationalID, Billing: c.Billing}
	if err := s.seal(ctx, entityCustomer, item, &sec); err != nil {
		return nil, err
	}
	return item, nil
}

func (s *Table) fromCustomerItem(ctx context.Context, item map[string]types.AttributeValue) (crm.Customer, []string, error) {
	var it customerItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Customer{}, nil, fmt.Errorf("unmarshal customer: %w", err)
	}
	var sec customerSecrets
	if err := s.open(ctx, entityCustomer, item, &sec); err != nil {
		return crm.Customer{}, nil, err
	}
	c := crm.Customer{
		ID: it.ID, Name: it.Name, Phone: sec.Phone, Email: sec.Email, Address: sec.Address,
		Company: it.Company, Segment: it.Segment, Tags: it.Tags, NationalID: sec.NationalID,
		Billing: sec.Billing, OwnerID: it.OwnerID, Consent: it.Consent, Language: it.Language, CreatedAt: it.CreatedAt.UTC(),
		CreatedBy: it.CreatedBy, UpdatedAt: it.UpdatedAt.UTC(), ReviewDueAt: it.ReviewDueAt.UTC(), Version: it.Version,
		Lost: it.Lost, Suspect: it.Suspect,
	}
	if it.VerifiedAt != nil {
		c.VerifiedAt = it.VerifiedAt.UTC()
	}
	c.Stored = readProfile{version: it.Version, claims: it.Claims, head: chainHeadOf(item)}
	return c, it.Claims, nil
}

// readProfile is what a read of a customer's profile keeps for a write of
// the same version (crm.Customer.Stored): the lookups the item holds and
// the audit chain's head it carries. The write is conditioned on that
// version, so if the item changed since, the write fails rather than use
// them.
type readProfile struct {
	version int64
	claims  []string
	head    map[string]types.AttributeValue
}

// profileAsRead returns the lookups held and the chain head carried by
// the stored version of prev: as noted when prev was read, or read again.
func (s *Table) profileAsRead(ctx context.Context, prev crm.Customer) (claims []string, head map[string]types.AttributeValue, err error) {
	if rp, ok := prev.Stored.(readProfile); ok && rp.version == prev.Version {
		return rp.claims, rp.head, nil
	}
	stored, err := s.getCustomerItem(ctx, prev.ID)
	if err != nil {
		return nil, nil, err
	}
	return heldClaims(stored), stored, nil
}

// plainCustomer decodes only a customer item's plain attributes, for an
// item whose sealed fields do not open.
func plainCustomer(item map[string]types.AttributeValue) (crm.Customer, error) {
	var it customerItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Customer{}, fmt.Errorf("unmarshal customer: %w", err)
	}
	c := crm.Customer{ID: it.ID, Name: it.Name, Company: it.Company, Segment: it.Segment, Tags: it.Tags, OwnerID: it.OwnerID,
		Consent: it.Consent, Language: it.Language, CreatedAt: it.CreatedAt.UTC(), CreatedBy: it.CreatedBy, UpdatedAt: it.UpdatedAt.UTC(),
		ReviewDueAt: it.ReviewDueAt.UTC(), Version: it.Version, Lost: it.Lost, Suspect: it.Suspect}
	if it.VerifiedAt != nil {
		c.VerifiedAt = it.VerifiedAt.UTC()
	}
	return c, nil
}

// lookupField is a field customers are found by and deduplicated on.
type lookupField struct {
	name  string
	value func(crm.Customer) string
}

var lookupFields = []lookupField{
	{crm.FieldPhone, func(c crm.Customer) string { return c.Phone }},
	{crm.FieldEmail, func(c crm.Customer) string { return c.Email }},
	{crm.FieldNationalID, func(c crm.Customer) string { return c.NationalID }},
}

// Lookup items live under one partition per blind index value: the claim
// (SK "CLAIM") makes the value unique, and one member item per customer
// (SK "CUST#id") makes exact lookups a Query. While the blind-index key is
// rotated (indexkeys.go), entries are written under the current key, and
// a value's entries under the other key are checked and removed too.
func indexPK(k *indexKeys, field, value string) string {
	return "IDX#" + field + "#" + k.index.Index(field, value)
}

// lookupPK is the partition of a value under the current key.
func (s *Table) lookupPK(field, value string) string { return indexPK(s.keyset().cur, field, value) }

const skClaim = "CLAIM"

func (s *Table) claimPut(field, value, customerID string) []types.TransactWriteItem {
	ks := s.keyset()
	item := itemKey(indexPK(ks.cur, field, value), skClaim)
	item["customerId"] = &types.AttributeValueMemberS{Value: customerID}
	item["field"] = &types.AttributeValueMemberS{Value: field}
	item["type"] = &types.AttributeValueMemberS{Value: "claim"}
	ops := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
	if ks.other != nil {
		ops = append(ops, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: itemKey(indexPK(ks.other, field, value), skClaim),
			ConditionExpression:       aws.String("attribute_not_exists(PK) OR customerId = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: customerID}},
		}})
	}
	return ops
}

func (s *Table) claimDelete(field, value, customerID string) []types.TransactWriteItem {
	ks := s.keyset()
	owned := map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: customerID}}
	if ks.other == nil {
		return []types.TransactWriteItem{{Delete: &types.Delete{
			TableName: &s.table, Key: itemKey(indexPK(ks.cur, field, value), skClaim),
			ConditionExpression: aws.String("customerId = :id"), ExpressionAttributeValues: owned,
		}}}
	}
	// The claim is under one key or the other, depending on whether the
	// re-derivation has reached it.
	var ops []types.TransactWriteItem
	for _, k := range []*indexKeys{ks.cur, ks.other} {
		ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: itemKey(indexPK(k, field, value), skClaim),
			ConditionExpression: aws.String("attribute_not_exists(PK) OR customerId = :id"), ExpressionAttributeValues: owned,
		}})
	}
	return ops
}

func (s *Table) memberPut(field, value, customerID string) types.TransactWriteItem {
	item := itemKey(s.lookupPK(field, value), customerPK(customerID))
	item["customerId"] = &types.AttributeValueMemberS{Value: customerID}
	item["type"] = &types.AttributeValueMemberS{Value: "lookup"}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}}
}

func (s *Table) memberDelete(field, value, customerID string) []types.TransactWriteItem {
	ks := s.keyset()
	ops := []types.TransactWriteItem{{Delete: &types.Delete{TableName: &s.table, Key: itemKey(indexPK(ks.cur, field, value), customerPK(customerID))}}}
	if ks.other != nil {
		ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: itemKey(indexPK(ks.other, field, value), customerPK(customerID))}})
	}
	return ops
}

func (s *Table) tagPut(c crm.Customer, tag string) types.TransactWriteItem {
	item := itemKey(customerPK(c.ID), "TAG#"+tag)
	item["customerId"] = &types.AttributeValueMemberS{Value: c.ID}
	item["type"] = &types.AttributeValueMemberS{Value: "tag"}
	item["GSI2PK"] = &types.AttributeValueMemberS{Value: "TAG#" + tag}
	item["GSI2SK"] = &types.AttributeValueMemberS{Value: sortTime(c.CreatedAt) + "#" + c.ID}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}}
}

func (s *Table) tagDelete(id, tag string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: itemKey(customerPK(id), "TAG#"+tag)}}
}

// CreateCustomer implements crm.CustomerStore.
func (s *Customers) CreateCustomer(ctx context.Context, c crm.Customer, allowDuplicate bool, a crm.Audit) error {
	var ops []types.TransactWriteItem
	var claimed []string
	var claimOps []int
	for _, f := range lookupFields {
		v := f.value(c)
		if v == "" {
			continue
		}
		if allowDuplicate {
			// An allowed duplicate takes a free claim but never fights for a held one.
			held, err := s.claimHolder(ctx, f.name, v)
			if err != nil {
				return err
			}
			if held != "" {
				ops = append(ops, s.memberPut(f.name, v, c.ID))
				continue
			}
		}
		claimOps = append(claimOps, len(ops))
		claimed = append(claimed, f.name)
		ops = append(append(ops, s.claimPut(f.name, v, c.ID)...), s.memberPut(f.name, v, c.ID))
	}
	for _, t := range c.Tags {
		ops = append(ops, s.tagPut(c, t))
	}
	ops = append(ops, s.searchOps(nil, &c)...)
	consents, err := s.consentPuts(c)
	if err != nil {
		return err
	}
	ops = append(ops, consents...)
	item, err := s.toCustomerItem(ctx, c, claimed)
	if err != nil {
		return err
	}
	newChainHead(item)
	ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	err = s.transact(ctx, ops, c, a, "create customer")
	if crm.ErrorCode(err) == crm.EPRECONDITION {
		// The id is new, so nothing of the customer's moved: a claim left
		// by an erased customer was released while the conflict was
		// examined. Once more, with the value free.
		err = s.transact(ctx, ops, c, a, "create customer")
	}
	return err
}

// UpdateCustomer implements crm.CustomerStore.
func (s *Customers) UpdateCustomer(ctx context.Context, prev, next crm.Customer, a crm.Audit) error {
	ops, err := s.updateOps(ctx, prev, next)
	if err != nil {
		return err
	}
	return s.transact(ctx, ops, next, a, "update customer")
}

// updateOps returns the writes that replace prev with next: the profile,
// conditioned on prev's version, and the claims, lookups and tags that move.
func (s *Table) updateOps(ctx context.Context, prev, next crm.Customer) ([]types.TransactWriteItem, error) {
	held, stored, err := s.profileAsRead(ctx, prev)
	if err != nil {
		return nil, err
	}
	var ops []types.TransactWriteItem
	claims := []string{}
	for _, f := range lookupFields {
		old, nv := f.value(prev), f.value(next)
		holds := slices.Contains(held, f.name)
		if old == nv {
			if holds {
				claims = append(claims, f.name)
			}
			continue
		}
		if old != "" {
			if holds {
				ops = append(ops, s.claimDelete(f.name, old, prev.ID)...)
			}
			ops = append(ops, s.memberDelete(f.name, old, prev.ID)...)
		}
		if nv != "" {
			ops = append(append(ops, s.claimPut(f.name, nv, next.ID)...), s.memberPut(f.name, nv, next.ID))
			claims = append(claims, f.name)
		}
	}
	for _, t := range prev.Tags {
		if !slices.Contains(next.Tags, t) {
			ops = append(ops, s.tagDelete(prev.ID, t))
		}
	}
	for _, t := range next.Tags {
		if !slices.Contains(prev.Tags, t) {
			ops = append(ops, s.tagPut(next, t))
		}
	}
	ops = append(ops, s.searchOps(&prev, &next)...)
	consents, err := s.consentPuts(next)
	if err != nil {
		return nil, err
	}
	ops = append(ops, consents...)
	put, err := s.profilePut(ctx, next, claims, stored, prev.Version)
	if err != nil {
		return nil, err
	}
	return append(ops, put), nil
}

// profilePut replaces a customer's profile with c, holding claims and
// carrying the audit chain head of stored, only while the stored profile
// is still at version.
func (s *Table) profilePut(ctx context.Context, c crm.Customer, claims []string, stored map[string]types.AttributeValue, version int64) (types.TransactWriteItem, error) {
	item, err := s.toCustomerItem(ctx, c, claims)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	carryChainHead(stored, item)
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(version)}}}}, nil
}

// transact runs a customer write with its audit entry and explains a
// cancellation: a taken claim is a duplicate, a failed version check a lost
// race.
func (s *Table) transact(ctx context.Context, ops []types.TransactWriteItem, c crm.Customer, a crm.Audit, op string) error {
	err := s.writeAudited(ctx, a, ops)
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return wrap(err, op+" "+c.ID)
	}
	return s.explainCanceled(ctx, tce, []crm.Customer{c}, []string{c.ID}, fmt.Sprintf("customer %s was changed by someone else", c.ID))
}

// explainCanceled explains a cancelled customer write: a lookup of one of
// claimants whose claim a customer not in ours holds is a duplicate (409
// naming the fields and the holder); else a cancellation by concurrent
// transactions only is worth a retry (503); else a version check failed
// (412, saying changed).
func (s *Table) explainCanceled(ctx context.Context, tce *types.TransactionCanceledException, claimants []crm.Customer, ours []string, changed string) error {
	dup := &crm.Error{Code: crm.ECONFLICT, Message: "a customer with the same details already exists"}
	for _, c := range claimants {
		for _, f := range lookupFields {
			v := f.value(c)
			if v == "" {
				continue
			}
			holder, err := s.claimHolder(ctx, f.name, v)
			if err != nil {
				return err
			}
			if holder != "" && !slices.Contains(ours, holder) {
				dup.Fields = append(dup.Fields, crm.FieldError{Field: f.name, Code: "duplicate", Message: "matches an existing customer"})
				if dup.DuplicateOf == "" {
					dup.DuplicateOf = holder
				}
			}
		}
	}
	if len(dup.Fields) > 0 {
		return dup
	}
	if isConflictOnly(tce) {
		return crm.Errorf(crm.EUNAVAILABLE, "a concurrent write got in the way; retry")
	}
	return crm.Errorf(crm.EPRECONDITION, "%s", changed)
}

// isConflictOnly reports a cancellation caused by a concurrent transaction,
// not by any condition.
func isConflictOnly(tce *types.TransactionCanceledException) bool {
	for _, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			return false
		}
	}
	return true
}

// claimHolder returns the customer holding value's claim, under either key
// while the blind-index key is rotated; "" for none.
func (s *Table) claimHolder(ctx context.Context, field, value string) (string, error) {
	ks := s.keyset()
	id, err := s.claimHolderUnder(ctx, ks.cur, field, value)
	if id != "" || err != nil || ks.other == nil {
		return id, err
	}
	return s.claimHolderUnder(ctx, ks.other, field, value)
}

func (s *Table) claimHolderUnder(ctx context.Context, k *indexKeys, field, value string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(indexPK(k, field, value), skClaim), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", wrap(err, "get claim")
	}
	id, _ := out.Item["customerId"].(*types.AttributeValueMemberS)
	if id == nil {
		return "", nil
	}
	// Whether the holder is erased shows in its profile's type: nothing
	// sealed needs opening to know.
	holder, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(id.Value), skProfile),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#t"), ExpressionAttributeNames: map[string]string{"#t": "type"}})
	if err != nil {
		return "", wrap(err, "get claim holder")
	}
	t, _ := holder.Item["type"].(*types.AttributeValueMemberS)
	if t != nil && t.Value == entityMerged {
		// A redirect reserves its claims while its merge can be undone.
		full, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(id.Value), skProfile),
			ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("undoUntil")})
		if err != nil {
			return "", wrap(err, "get claim holder")
		}
		if !s.redirectReleased(full.Item) {
			return id.Value, nil
		}
	}
	if t != nil && (t.Value == entityTombstone || t.Value == entityMerged) {
		// Left by the erasure of a customer whose sealed fields did not
		// open, or by a merge that can no longer be undone: release it,
		// so the value is free again.
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(s.lookupPK(field, value), skClaim),
			ConditionExpression:       aws.String("customerId = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": id}})
		if err != nil && !isConditionFailed(err) {
			return "", wrap(err, "release claim")
		}
		return "", nil
	}
	return id.Value, nil
}

// GetCustomer implements crm.CustomerStore.
func (s *Customers) GetCustomer(ctx context.Context, id string) (crm.Customer, error) {
	c, _, err := s.getCustomer(ctx, id)
	return c, err
}

func (s *Table) getCustomer(ctx context.Context, id string) (crm.Customer, []string, error) {
	item, err := s.getCustomerItem(ctx, id)
	if code := crm.ErrorCode(err); code == crm.EGONE || code == crm.EMOVED {
		gone := crm.Customer{ID: id}
		if owner, _ := item["ownerId"].(*types.AttributeValueMemberS); owner != nil {
			gone.OwnerID = owner.Value
		}
		return gone, nil, err
	}
	if err != nil {
		return crm.Customer{}, nil, err
	}
	return s.fromCustomerItem(ctx, item)
}

// getCustomerItem reads a customer's profile item as stored.
func (s *Table) getCustomerItem(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	if !validID(id) {
		return nil, crm.Errorf(crm.ENOTFOUND, "customer not found")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(id), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap(err, "get customer "+id)
	}
	if out.Item == nil || s.expired(out.Item) {
		return nil, crm.Errorf(crm.ENOTFOUND, "customer %s not found", id)
	}
	if t, _ := out.Item["type"].(*types.AttributeValueMemberS); t != nil && t.Value == entityTombstone {
		// The tombstone comes back with EGONE: its owner says who may
		// be told the customer is gone.
		return out.Item, crm.Errorf(crm.EGONE, "customer %s was erased", id)
	}
	if strAttr(out.Item, "type") == entityMerged {
		// A merged-away customer answers with where it went.
		moved := crm.Errorf(crm.EMOVED, "customer %s was merged into another", id)
		moved.MergedInto = strAttr(out.Item, "mergedInto")
		return out.Item, moved
	}
	return out.Item, nil
}

// expired reports whether an item's retention has run out. DynamoDB's TTL
// deletes such items only eventually (DynamoDB Local never does), so every
// read treats them as gone already.
func (s *Table) expired(item map[string]types.AttributeValue) bool {
	v, ok := item[attrTTL].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return err == nil && n <= s.now().Unix()
}

// expiry is the TTL value for a record done with at t and kept for keep.
func expiry(t time.Time, keep time.Duration) *int64 {
	if keep <= 0 {
		return nil
	}
	n := t.Add(keep).Unix()
	return &n
}

// validID keeps ids that could never have been issued out of key expressions.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
