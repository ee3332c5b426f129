package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// interactionItem lives in its customer's partition, sorted by when it
// happened; a follow-up date marks it for the reminder run.
type interactionItem struct {
	PK         string     `dynamodbav:"PK"`
	SK         string     `dynamodbav:"SK"`
	Type       string     `dynamodbav:"type"`
	GSI8PK     string     `dynamodbav:"GSI8PK,omitempty"`
	GSI8SK     string     `dynamodbav:"GSI8SK,omitempty"`
	ID         string     `dynamodbav:"id"`
	CustomerID string     `dynamodbav:"customerId"`
	Kind       string     `dynamodbav:"kind"`
	At         time.Time  `dynamodbav:"at"`
	FollowUpAt *time.Time `dynamodbav:"followUpAt,omitempty"`
	ActorID    string     `dynamodbav:"actorId"`
	CreatedAt  time.Time  `dynamodbav:"createdAt"`
	ExpiresAt  *int64     `dynamodbav:"expiresAt,omitempty"`
}

type interactionSecrets struct {
	Summary string `json:"summary"`
}

// AddInteraction implements crm.CustomerStore.
func (s *Customers) AddInteraction(ctx context.Context, in crm.Interaction, a crm.Audit) error {
	it := interactionItem{
		PK: customerPK(in.CustomerID), SK: "INT#" + sortTime(in.At) + "#" + in.ID, Type: entityInteraction,
		ID: in.ID, CustomerID: in.CustomerID, Kind: in.Kind, At: in.At, FollowUpAt: in.FollowUpAt,
		ActorID: in.ActorID, CreatedAt: in.CreatedAt, ExpiresAt: expiry(in.At, s.retention.Interactions),
	}
	if in.FollowUpAt != nil {
		it.GSI8PK, it.GSI8SK = dueMark(crm.DueFollowUp, in.ID, *in.FollowUpAt)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("marshal interaction: %w", err)
	}
	if err := s.seal(ctx, entityInteraction, item, &interactionSecrets{Summary: in.Summary}); err != nil {
		return err
	}
	// The customer must still exist: the profile is checked in the same
	// transaction, so an interaction never outlives a concurrent erasure.
	err = s.writeAudited(ctx, a, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: itemKey(customerPK(in.CustomerID), skProfile),
			ConditionExpression: aws.String("attribute_exists(PK) AND #t = :customer"), ExpressionAttributeNames: map[string]string{"#t": "type"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":customer": &types.AttributeValueMemberS{Value: entityCustomer}}}},
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	})
	if err != nil {
		if _, ok := asCanceled(err); ok {
			return crm.Errorf(crm.ENOTFOUND, "customer %s not found", in.CustomerID)
		}
		return wrap(err, "put interaction")
	}
	return nil
}

// ListInteractions implements crm.CustomerStore.
func (s *Customers) ListInteractions(ctx context.Context, customerID string, p crm.Page) ([]crm.Interaction, string, error) {
	src := tableSource(customerPK(customerID), "INT#")
	return paginate(ctx, s.Table, src, p, "interactions|"+customerID,
		func(ctx context.Context, items []map[string]types.AttributeValue) ([]*crm.Interaction, error) {
			out := make([]*crm.Interaction, len(items))
			for i, item := range items {
				if s.expired(item) {
					continue
				}
				var it interactionItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return nil, fmt.Errorf("unmarshal interaction: %w", err)
				}
				var sec interactionSecrets
				if err := s.open(ctx, entityInteraction, item, &sec); err != nil {
					return nil, err
				}
				in := crm.Interaction{ID: it.ID, CustomerID: it.CustomerID, Kind: it.Kind, At: it.At.UTC(),
					Summary: sec.Summary, ActorID: it.ActorID, CreatedAt: it.CreatedAt.UTC()}
				if it.FollowUpAt != nil {
					f := it.FollowUpAt.UTC()
					in.FollowUpAt = &f
				}
				out[i] = &in
			}
			return out, nil
		})
}
