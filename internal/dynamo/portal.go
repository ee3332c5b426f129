package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// portalItem records a self-service link. It is on GSI5 under its customer
// so that erasing the customer can revoke it.
type portalItem struct {
	PK         string     `dynamodbav:"PK"`
	SK         string     `dynamodbav:"SK"`
	Type       string     `dynamodbav:"type"`
	GSI5PK     string     `dynamodbav:"GSI5PK"`
	GSI5SK     string     `dynamodbav:"GSI5SK"`
	ID         string     `dynamodbav:"id"`
	CustomerID string     `dynamodbav:"customerId"`
	ValidUntil time.Time  `dynamodbav:"validUntil"`
	UsedAt     *time.Time `dynamodbav:"usedAt,omitempty"`
	// ExpiresAt (TTL) is no longer set: a link's record, which holds no
	// personal data, stays so that the self-service rate can be rebuilt
	// from the links sent. Records written before keep theirs.
	ExpiresAt int64 `dynamodbav:"expiresAt,omitempty"`
	// OwnerID is the owner the link counts for in the self-service rate.
	OwnerID string `dynamodbav:"ownerId,omitempty"`
	// CreatedAt says which links a change of owner revokes: those opened
	// before it.
	CreatedAt *time.Time `dynamodbav:"createdAt,omitempty"`
	// RevokedAt is set when staff, a reassignment or an erasure revoked
	// the link before its time.
	RevokedAt *time.Time `dynamodbav:"revokedAt,omitempty"`
}

func portalKey(id string) map[string]types.AttributeValue { return itemKey("PORTAL#"+id, "PORTAL") }

// CreatePortalLink implements crm.PortalStore.
func (s *PortalLinks) CreatePortalLink(ctx context.Context, l crm.PortalLink, a crm.Audit) error {
	put, err := s.portalPut(l)
	if err != nil {
		return err
	}
	err = s.writeAudited(ctx, a, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: itemKey(customerPK(l.CustomerID), skProfile),
			ConditionExpression: aws.String("#t = :customer"), ExpressionAttributeNames: map[string]string{"#t": "type"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":customer": &types.AttributeValueMemberS{Value: entityCustomer}}}},
		put,
	})
	if _, ok := asCanceled(err); ok {
		return crm.Errorf(crm.ENOTFOUND, "customer %s not found", l.CustomerID)
	}
	return wrap(err, "create portal link")
}

// portalPut creates a link's record, once.
func (s *Table) portalPut(l crm.PortalLink) (types.TransactWriteItem, error) {
	created := s.now().UTC()
	item, err := attributevalue.MarshalMap(portalItem{PK: "PORTAL#" + l.ID, SK: "PORTAL", Type: entityPortalLink,
		GSI5PK: "PORTALSUBJ#" + l.CustomerID, GSI5SK: sortTime(l.ExpiresAt), ID: l.ID, CustomerID: l.CustomerID,
		ValidUntil: l.ExpiresAt, OwnerID: l.OwnerID, CreatedAt: &created})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal portal link: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}, nil
}

// PortalLink implements crm.PortalStore.
func (s *PortalLinks) PortalLink(ctx context.Context, id string, now time.Time) (crm.PortalLink, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: portalKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.PortalLink{}, wrap(err, "get portal link")
	}
	var it portalItem
	if out.Item == nil || attributevalue.UnmarshalMap(out.Item, &it) != nil || it.UsedAt != nil || !now.Before(it.ValidUntil) {
		return crm.PortalLink{}, crm.Errorf(crm.ENOTFOUND, "portal link not valid")
	}
	return crm.PortalLink{ID: it.ID, CustomerID: it.CustomerID, ExpiresAt: it.ValidUntil}, nil
}

// UpdateCustomerByLink implements crm.PortalStore: the customer's change
// and the use of the link commit together, so a link changes at most one
// thing, once.
func (s *PortalLinks) UpdateCustomerByLink(ctx context.Context, linkID string, prev, next crm.Customer, now time.Time, a crm.Audit, notes []crm.Notification) error {
	ops, err := s.updateOps(ctx, prev, next)
	if err != nil {
		return err
	}
	for _, n := range notes {
		ops = append(ops, s.notificationPut(n))
	}
	ops = append(ops, types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: portalKey(linkID),
		UpdateExpression:          aws.String("SET usedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(usedAt) AND validUntil > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}},
	}})
	err = s.transact(ctx, ops, next, a, "update customer by link")
	if crm.ErrorCode(err) == crm.EPRECONDITION {
		// The profile's version moved or the link was used meanwhile;
		// either way this link has done its work.
		if _, lerr := s.PortalLink(ctx, linkID, now); lerr != nil {
			return lerr
		}
	}
	return err
}

// Allow implements crm.PortalStore with a fixed-window counter per key,
// shared by every process. The key is the limiter's, never a secret: the
// portal passes a link id or a keyed digest. Once the window's count
// reaches max the condition fails, so a refused request writes nothing.
func (s *PortalLinks) Allow(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error) {
	start := now.Truncate(window)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey("RATE#"+key, strconv.FormatInt(start.Unix(), 10)),
		UpdateExpression:         aws.String("ADD n :one SET expiresAt = :exp, #t = :type"),
		ConditionExpression:      aws.String("attribute_not_exists(n) OR n < :max"),
		ExpressionAttributeNames: map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":  &types.AttributeValueMemberN{Value: "1"},
			":max":  &types.AttributeValueMemberN{Value: strconv.Itoa(max)},
			":exp":  &types.AttributeValueMemberN{Value: strconv.FormatInt(start.Add(2*window).Unix(), 10)},
			":type": &types.AttributeValueMemberS{Value: "rate"},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "count request")
	}
	return true, nil
}
