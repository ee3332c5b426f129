package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

const entityTombstone = "tombstone"

// tombstoneItem replaces an erased customer's profile: it proves the
// customer existed and was erased, by whom and when, whose it was, and
// nothing else.
type tombstoneItem struct {
	PK       string    `dynamodbav:"PK"`
	SK       string    `dynamodbav:"SK"`
	Type     string    `dynamodbav:"type"`
	ID       string    `dynamodbav:"id"`
	ErasedAt time.Time `dynamodbav:"erasedAt"`
	ErasedBy string    `dynamodbav:"erasedBy"`
	// OwnerID is kept (a staff id, not personal data) so that a rep who
	// could not see the customer is not told it existed and was erased.
	OwnerID   string `dynamodbav:"ownerId,omitempty"`
	ExpiresAt *int64 `dynamodbav:"expiresAt,omitempty"`
}

// EraseCustomer implements crm.CustomerStore. One transaction replaces the
// profile with a tombstone, releases the blind-index claims and lookups,
// removes the tags and records the audit entry. Then the personal content
// elsewhere is destroyed: interactions, the text of complaints and their
// timelines, saved idempotent responses and open portal links. A retry
// after a failure half way finds the tombstone and finishes the rest.
func (s *Customers) EraseCustomer(ctx context.Context, id string, a crm.Audit) error {
	return s.erase(ctx, id, a, 0, nil)
}

// erase is EraseCustomer; version, when not zero, is the version the
// customer must still be at, and also commit with the tombstone.
func (s *Table) erase(ctx context.Context, id string, a crm.Audit, version int64, also []types.TransactWriteItem) error {
	c, held, err := s.getCustomer(ctx, id)
	switch {
	case crm.ErrorCode(err) == crm.EGONE && also != nil:
		return crm.Errorf(crm.EPRECONDITION, "customer %s was erased meanwhile", id)
	case crm.ErrorCode(err) == crm.EGONE:
		return s.scrub(ctx, id)
	case crm.ErrorCode(err) == crm.EINTEGRITY:
		// Its sealed fields do not open, so their claims and lookups
		// cannot be found by value: the profile, tags and everything else
		// go; the claims, which hold only keyed hashes and the id, stay
		// until a new customer with the same value needs them (the claim
		// of an erased customer is then released).
		if c, err = s.unreadableCustomer(ctx, id); err != nil {
			return err
		}
		held = nil
	case err != nil:
		return err
	}
	if version != 0 && c.Version != version {
		return crm.Errorf(crm.EPRECONDITION, "customer %s changed since", id)
	}
	now := s.now().UTC()
	tomb, err := attributevalue.MarshalMap(tombstoneItem{PK: customerPK(id), SK: skProfile, Type: entityTombstone, ID: id,
		ErasedAt: now, ErasedBy: a.Actor.ID, OwnerID: c.OwnerID, ExpiresAt: expiry(now, s.retention.Tombstones)})
	if err != nil {
		return fmt.Errorf("marshal tombstone: %w", err)
	}
	ops := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: tomb,
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(c.Version)}}}}}
	for _, f := range lookupFields {
		v := f.value(c)
		if v == "" {
			continue
		}
		if slices.Contains(held, f.name) {
			ops = append(ops, s.claimDelete(f.name, v, id)...)
		}
		ops = append(ops, s.memberDelete(f.name, v, id)...)
	}
	for _, t := range c.Tags {
		ops = append(ops, s.tagDelete(id, t))
	}
	ops = append(ops, s.searchOps(&c, nil)...)
	ops = append(ops, also...)
	if err := s.writeAudited(ctx, a, ops); err != nil {
		if _, ok := asCanceled(err); ok {
			return crm.Errorf(crm.EPRECONDITION, "customer %s was changed while being erased; retry", id)
		}
		return wrap(err, "erase customer "+id)
	}
	return s.scrub(ctx, id)
}

// unreadableCustomer reads a customer's plain attributes only.
func (s *Table) unreadableCustomer(ctx context.Context, id string) (crm.Customer, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(id), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Customer{}, wrap(err, "get customer "+id)
	}
	return plainCustomer(out.Item)
}

// scrub destroys an erased customer's personal content outside the profile.
func (s *Table) scrub(ctx context.Context, id string) error {
	interactions, err := s.keysOf(ctx, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: customerPK(id)},
			":p": &types.AttributeValueMemberS{Value: "INT#"}}})
	if err != nil {
		return err
	}
	for _, k := range interactions {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: k}); err != nil {
			return wrap(err, "delete interaction")
		}
	}
	complaints, err := s.keysOf(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexBySubject),
		KeyConditionExpression:    aws.String("GSI5PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "CCUST#" + id}}})
	if err != nil {
		return err
	}
	for _, k := range complaints {
		pk := k[attrPK].(*types.AttributeValueMemberS).Value
		tl, err := s.timelineKeys(ctx, pk[len("COMP#"):])
		if err != nil {
			return err
		}
		// The complaint's facts (category, severity, times) stay for the
		// statistics; its text, which is the customer's, goes.
		for _, key := range append([]map[string]types.AttributeValue{itemKey(pk, skComplaint)}, tl...) {
			_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key,
				UpdateExpression: aws.String("REMOVE sealed, edk SET erased = :t"), ConditionExpression: aws.String("attribute_exists(PK)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}})
			if err != nil && !isConditionFailed(err) {
				return wrap(err, "scrub complaint")
			}
		}
	}
	saved, err := s.keysOf(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexBySubject),
		KeyConditionExpression:    aws.String("GSI5PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "IDEMSUBJ#" + id}}})
	if err != nil {
		return err
	}
	links, err := s.keysOf(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexBySubject),
		KeyConditionExpression:    aws.String("GSI5PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "PORTALSUBJ#" + id}}})
	if err != nil {
		return err
	}
	saved = append(saved, links...)
	for _, k := range saved {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: k}); err != nil {
			return wrap(err, "delete idempotency record")
		}
	}
	if err := s.purgeMerges(ctx, id); err != nil {
		return err
	}
	return s.scrubConsents(ctx, id)
}

// keysOf returns the table keys of every item a Query finds.
func (s *Table) keysOf(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "query keys")
		}
		for _, it := range page.Items {
			keys = append(keys, map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]})
		}
	}
	return keys, nil
}
