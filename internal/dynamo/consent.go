package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

const (
	entityConsent   = "consent"
	skConsentPrefix = "CONSENT#"
)

var _ crm.ConsentStore = (*Customers)(nil)

// consentItem is one consent record, in its customer's partition, sorted by
// when it was made. It holds no personal data (a purpose, a flag, a time
// and a staff or portal actor id), so nothing in it is sealed.
type consentItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	Customer  string    `dynamodbav:"customerId"`
	Purpose   string    `dynamodbav:"purpose"`
	Granted   bool      `dynamodbav:"granted"`
	At        time.Time `dynamodbav:"at"`
	Source    string    `dynamodbav:"source"`
	Actor     string    `dynamodbav:"actor"`
	ExpiresAt *int64    `dynamodbav:"expiresAt,omitempty"`
}

// consentPuts returns the puts of the consent records c's write appends.
// The key is the record's time and purpose: a retried transaction puts the
// same records again, never a second copy.
func (s *Table) consentPuts(c crm.Customer) ([]types.TransactWriteItem, error) {
	var ops []types.TransactWriteItem
	for _, r := range c.ConsentChanges {
		item, err := attributevalue.MarshalMap(consentItem{PK: customerPK(c.ID), SK: skConsentPrefix + sortTime(r.At) + "#" + r.Purpose,
			Type: entityConsent, Customer: c.ID, Purpose: r.Purpose, Granted: r.Granted, At: r.At.UTC(), Source: r.Source, Actor: r.Actor})
		if err != nil {
			return nil, fmt.Errorf("marshal consent record: %w", err)
		}
		ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}})
	}
	return ops, nil
}

func fromConsentItem(item map[string]types.AttributeValue) (crm.ConsentRecord, error) {
	var it consentItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.ConsentRecord{}, fmt.Errorf("unmarshal consent record: %w", err)
	}
	return crm.ConsentRecord{Purpose: it.Purpose, Granted: it.Granted, At: it.At.UTC(), Source: it.Source, Actor: it.Actor}, nil
}

// ListConsents implements crm.ConsentStore.
func (s *Customers) ListConsents(ctx context.Context, customerID string, p crm.Page) ([]crm.ConsentRecord, string, error) {
	src := tableSource(customerPK(customerID), skConsentPrefix)
	return paginate(ctx, s.Table, src, p, "consents|"+customerID,
		func(ctx context.Context, items []map[string]types.AttributeValue) ([]*crm.ConsentRecord, error) {
			out := make([]*crm.ConsentRecord, len(items))
			for i, item := range items {
				if s.expired(item) {
					continue
				}
				r, err := fromConsentItem(item)
				if err != nil {
					return nil, err
				}
				out[i] = &r
			}
			return out, nil
		})
}

// scrubConsents applies the erasure's consent retention to an erased
// customer's history: the records it keeps expire with the tombstone, the
// others go now. Run again, it finds the same records and does the same.
func (s *Table) scrubConsents(ctx context.Context, id string) error {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: customerPK(id)},
			":p": &types.AttributeValueMemberS{Value: skConsentPrefix}}}
	p := dynamodb.NewQueryPaginator(s.db, in)
	keep := expiry(s.now(), s.retention.Tombstones)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(err, "query consent records")
		}
		for _, item := range page.Items {
			r, err := fromConsentItem(item)
			if err != nil {
				return err
			}
			key := map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]}
			if !s.retention.ConsentOnErase.Keeps(r) {
				if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key}); err != nil {
					return wrap(err, "delete consent record")
				}
				continue
			}
			if keep == nil {
				continue
			}
			_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key,
				UpdateExpression:          aws.String("SET expiresAt = :e"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberN{Value: fmt.Sprint(*keep)}}})
			if err != nil {
				return wrap(err, "keep consent record")
			}
		}
	}
	return nil
}
