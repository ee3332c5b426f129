package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Webhook endpoints and their deliveries. The endpoints are few and
// written by admins, so they share one partition and are listed by one
// Query. Each delivery (one event to one endpoint) is an item of its own
// under its endpoint, written once by the fan-out with a condition, so a
// redelivered event makes no second delivery. A delivery that is still to
// be attempted carries a due key (GSI4, "WHDUE"), which the delivery loop
// queries; claiming one moves its due key a lease ahead, so a loop that
// dies mid-attempt leaves it due again once the lease runs out.
const (
	entityWebhook  = "webhook"
	entityDelivery = "webhookDelivery"
	pkWebhooks     = "WEBHOOKS"
	dueDeliveries  = "WHDUE"
	// PurposeWebhookSecrets wraps webhook signing secrets: only the
	// webhooks function seals and opens them.
	PurposeWebhookSecrets = "webhook-secrets"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // failed at least once, to be retried
	DeliveryDead      = "dead"   // given up
)

// Webhook is a registered endpoint, without its secrets.
type Webhook struct {
	ID        string    `dynamodbav:"id"`
	URL       string    `dynamodbav:"url"`
	Events    []string  `dynamodbav:"events"`
	Enabled   bool      `dynamodbav:"enabled"`
	Disabled  string    `dynamodbav:"disabledReason,omitempty"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	CreatedBy string    `dynamodbav:"createdBy"`
	Version   int64     `dynamodbav:"version"`
}

// WebhookSecrets are an endpoint's signing secrets, sealed: the current
// one and, during a rotation's grace period, the one before it.
type WebhookSecrets struct {
	Current      string    `json:"current"`
	Previous     string    `json:"previous"`
	PreviousTill time.Time `json:"previousTill"`
}

// Delivery is one event on its way to one endpoint. Body is the event as
// sent: ids and field names only.
type Delivery struct {
	WebhookID string    `dynamodbav:"webhookId"`
	EventID   string    `dynamodbav:"eventId"`
	EventType string    `dynamodbav:"eventType"`
	EntityID  string    `dynamodbav:"entityId"`
	EventAt   time.Time `dynamodbav:"eventAt"`
	Body      string    `dynamodbav:"body"`
	Status    string    `dynamodbav:"status"`
	Attempts  int       `dynamodbav:"attempts"`
	LastError string    `dynamodbav:"lastError,omitempty"`
	// At is when it was last attempted, or made.
	At time.Time `dynamodbav:"at"`
	// NextAt is when it is due; zero once delivered or dead.
	NextAt time.Time `dynamodbav:"nextAt"`
	// due is the due key as read, which a claim is conditioned on.
	due string
}

// Webhooks stores webhook endpoints and their deliveries.
type Webhooks struct{ *Table }

// Webhooks returns the webhook store of t.
func (t *Table) Webhooks() *Webhooks { return &Webhooks{t} }

func webhookSK(id string) string { return "WH#" + id }

func deliveryPK(webhookID string) string { return "WHD#" + webhookID }

func deliverySK(d Delivery) string { return sortTime(d.EventAt) + "#" + d.EventID }

func dueKey(d Delivery) string { return sortTime(d.NextAt) + "#" + d.WebhookID + "#" + d.EventID }

type webhookItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Webhook
}

// CreateWebhook stores a new endpoint with its secrets, sealed.
func (s *Webhooks) CreateWebhook(ctx context.Context, w Webhook, sec WebhookSecrets) error {
	item, err := s.webhookItem(ctx, w, sec)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	return wrap(err, "create webhook")
}

func (s *Webhooks) webhookItem(ctx context.Context, w Webhook, sec WebhookSecrets) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(webhookItem{PK: pkWebhooks, SK: webhookSK(w.ID), Type: entityWebhook, Webhook: w})
	if err != nil {
		return nil, fmt.Errorf("marshal webhook: %w", err)
	}
	if err := s.seal(ctx, entityWebhook, item, &sec); err != nil {
		return nil, err
	}
	return item, nil
}

// ReplaceWebhook stores w (and sec) in place of the version prev.
// Returns EPRECONDITION when the stored version moved on, ENOTFOUND when
// the endpoint is gone.
func (s *Webhooks) ReplaceWebhook(ctx context.Context, prev int64, w Webhook, sec WebhookSecrets) error {
	item, err := s.webhookItem(ctx, w, sec)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}}})
	if isConditionFailed(err) {
		return crm.Errorf(crm.EPRECONDITION, "the webhook was changed or deleted meanwhile")
	}
	return wrap(err, "update webhook")
}

// Webhook returns an endpoint and, when open is set, its secrets.
func (s *Webhooks) Webhook(ctx context.Context, id string, open bool) (Webhook, WebhookSecrets, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(pkWebhooks, webhookSK(id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Webhook{}, WebhookSecrets{}, wrap(err, "get webhook")
	}
	if out.Item == nil {
		return Webhook{}, WebhookSecrets{}, crm.Errorf(crm.ENOTFOUND, "no such webhook")
	}
	return s.decodeWebhook(ctx, out.Item, open)
}

func (s *Webhooks) decodeWebhook(ctx context.Context, item map[string]types.AttributeValue, open bool) (Webhook, WebhookSecrets, error) {
	var it webhookItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Webhook{}, WebhookSecrets{}, fmt.Errorf("unmarshal webhook: %w", err)
	}
	it.CreatedAt = it.CreatedAt.UTC()
	var sec WebhookSecrets
	if open {
		if err := s.open(ctx, entityWebhook, item, &sec); err != nil {
			return Webhook{}, WebhookSecrets{}, err
		}
	}
	return it.Webhook, sec, nil
}

// ListWebhooks returns every endpoint, oldest first, without secrets.
func (s *Webhooks) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pkWebhooks}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "list webhooks")
		}
		for _, item := range page.Items {
			w, _, err := s.decodeWebhook(ctx, item, false)
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
	}
	return out, nil
}

// DeleteWebhook removes an endpoint; its deliveries stay until they
// expire or are listed no more. Returns ENOTFOUND when there is none.
func (s *Webhooks) DeleteWebhook(ctx context.Context, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(pkWebhooks, webhookSK(id)),
		ConditionExpression: aws.String("attribute_exists(PK)")})
	if isConditionFailed(err) {
		return crm.Errorf(crm.ENOTFOUND, "no such webhook")
	}
	return wrap(err, "delete webhook")
}

type deliveryItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	GSI4PK string `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK string `dynamodbav:"GSI4SK,omitempty"`
	Delivery
}

func toDeliveryItem(d Delivery) (map[string]types.AttributeValue, error) {
	it := deliveryItem{PK: deliveryPK(d.WebhookID), SK: deliverySK(d), Type: entityDelivery, Delivery: d}
	if !d.NextAt.IsZero() {
		it.GSI4PK, it.GSI4SK = dueDeliveries, dueKey(d)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal delivery: %w", err)
	}
	return item, nil
}

func fromDeliveryItem(item map[string]types.AttributeValue) (Delivery, error) {
	var it deliveryItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Delivery{}, fmt.Errorf("unmarshal delivery: %w", err)
	}
	d := it.Delivery
	d.due, d.At, d.EventAt, d.NextAt = it.GSI4SK, d.At.UTC(), d.EventAt.UTC(), d.NextAt.UTC()
	return d, nil
}

// AddDelivery stores a new delivery, due at d.NextAt. A delivery of the
// same event to the same endpoint already there is left as it is: the
// fan-out of a redelivered event adds nothing.
func (s *Webhooks) AddDelivery(ctx context.Context, d Delivery) (bool, error) {
	item, err := toDeliveryItem(d)
	if err != nil {
		return false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, wrap(err, "add delivery")
}

// DueDeliveries returns up to limit deliveries due by now, soonest first.
func (s *Webhooks) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexByDue),
		KeyConditionExpression: aws.String("GSI4PK = :pk AND GSI4SK <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: dueDeliveries},
			":now": &types.AttributeValueMemberS{Value: sortTime(now) + "#\uffff"}},
		Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, wrap(err, "due deliveries")
	}
	items, err := s.fetch(ctx, s.table, IndexByDue, "GSI4PK", dueDeliveries, out.Items)
	if err != nil {
		return nil, err
	}
	ds := make([]Delivery, 0, len(items))
	for _, item := range items {
		d, err := fromDeliveryItem(item)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// ClaimDelivery takes d for an attempt until leaseUntil: its due key moves
// there, so no other loop takes it meanwhile, and if this one dies before
// it records the outcome, d falls due again. Reports false when another
// loop claimed it first.
func (s *Webhooks) ClaimDelivery(ctx context.Context, d *Delivery, leaseUntil time.Time) (bool, error) {
	prev := d.due
	d.NextAt = leaseUntil
	next := dueKey(*d)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                       itemKey(deliveryPK(d.WebhookID), deliverySK(*d)),
		UpdateExpression:          aws.String("SET GSI4SK = :next, nextAt = :at"),
		ConditionExpression:       aws.String("GSI4SK = :prev"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":next": &types.AttributeValueMemberS{Value: next}, ":prev": &types.AttributeValueMemberS{Value: prev}, ":at": &types.AttributeValueMemberS{Value: leaseUntil.UTC().Format(time.RFC3339Nano)}}})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "claim delivery")
	}
	d.due = next
	return true, nil
}

// SaveDelivery records the outcome of the attempt on a claimed d: due
// again at d.NextAt, or no longer due when NextAt is zero.
func (s *Webhooks) SaveDelivery(ctx context.Context, d Delivery) error {
	item, err := toDeliveryItem(d)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("GSI4SK = :claim"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":claim": &types.AttributeValueMemberS{Value: d.due}}})
	if isConditionFailed(err) {
		// Its lease ran out and another loop took it: that one records it.
		return nil
	}
	return wrap(err, "save delivery")
}

// ListDeliveries returns one page of an endpoint's deliveries, newest
// first, and the cursor of the next page ("" on the last).
func (s *Webhooks) ListDeliveries(ctx context.Context, webhookID string, p crm.Page) ([]Delivery, string, error) {
	fp := "webhook-deliveries|" + webhookID
	start, err := s.openCursor(p.Cursor, fp)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: deliveryPK(webhookID)}},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(p.Limit)), ExclusiveStartKey: start})
	if err != nil {
		return nil, "", wrap(err, "list deliveries")
	}
	ds := make([]Delivery, 0, len(out.Items))
	for _, item := range out.Items {
		d, err := fromDeliveryItem(item)
		if err != nil {
			return nil, "", err
		}
		ds = append(ds, d)
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		if next, err = s.sealCursor(out.LastEvaluatedKey, fp); err != nil {
			return nil, "", err
		}
	}
	return ds, next, nil
}
