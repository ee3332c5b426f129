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

// Outcomes keeps what the outcome KPIs are counted from, derived from the
// table's stream: each customer's activity item (spans of activity, lost
// marks, update cycles) and the suspect markers stewards list. Nothing here
// opens a sealed field: it reads plain attributes of the stream's images.
type Outcomes struct{ *Table }

// Outcomes returns the outcome views of t.
func (t *Table) Outcomes() *Outcomes { return &Outcomes{t} }

const (
	entityActivity      = "activity"
	entitySuspectMarker = "suspect_marker"
	entityPortalLink    = "portal_link"
	// suspectPartition is the IndexByGroup partition of suspect markers.
	suspectPartition = "SUSPECT"
)

func activityKey(customerID string) map[string]types.AttributeValue {
	return itemKey("ACTIVITY#"+customerID, "ACTIVITY")
}

func suspectKey(customerID string) map[string]types.AttributeValue {
	return itemKey("SUSPECT#"+customerID, "SUSPECT")
}

// activityItem stores a crm.Activity. Rev guards read-modify-write against
// a concurrent consumer.
type activityItem struct {
	PK         string           `dynamodbav:"PK"`
	SK         string           `dynamodbav:"SK"`
	Type       string           `dynamodbav:"type"`
	CustomerID string           `dynamodbav:"customerId"`
	OwnerID    string           `dynamodbav:"ownerId"`
	Segment    string           `dynamodbav:"segment,omitempty"`
	Spans      []crm.Span       `dynamodbav:"spans"`
	Cycles     map[string]int64 `dynamodbav:"cycles,omitempty"`
	Version    int64            `dynamodbav:"version"`
	Rev        int64            `dynamodbav:"rev"`
}

func activityOf(it activityItem) crm.Activity {
	a := crm.Activity{CustomerID: it.CustomerID, OwnerID: it.OwnerID, Segment: it.Segment, Spans: it.Spans, Version: it.Version}
	for k, v := range it.Cycles {
		if b, err := strconv.Atoi(k); err == nil {
			if a.Cycles == nil {
				a.Cycles = map[int]int64{}
			}
			a.Cycles[b] = v
		}
	}
	return a
}

func decodeActivity(item map[string]types.AttributeValue) (crm.Activity, int64, error) {
	var it activityItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Activity{}, 0, fmt.Errorf("unmarshal activity: %w", err)
	}
	return activityOf(it), it.Rev, nil
}

// Activity returns a customer's activity, and whether it has one.
func (s *Outcomes) Activity(ctx context.Context, customerID string) (crm.Activity, bool, error) {
	a, _, ok, err := s.activity(ctx, customerID)
	return a, ok, err
}

func (s *Outcomes) activity(ctx context.Context, customerID string) (crm.Activity, int64, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: activityKey(customerID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Activity{}, 0, false, wrap(err, "get activity")
	}
	if out.Item == nil {
		return crm.Activity{}, 0, false, nil
	}
	a, rev, err := decodeActivity(out.Item)
	return a, rev, err == nil, err
}

// updateActivity applies change to a customer's activity and stores it if
// it changed, retrying when another consumer wrote it meanwhile. With
// mustExist, a customer without an activity item is left alone.
func (s *Outcomes) updateActivity(ctx context.Context, customerID string, mustExist bool, change func(*crm.Activity) bool) error {
	for attempt := 0; ; attempt++ {
		a, rev, ok, err := s.activity(ctx, customerID)
		if err != nil || (!ok && mustExist) || !change(&a) {
			return err
		}
		it := activityItem{PK: "ACTIVITY#" + customerID, SK: "ACTIVITY", Type: entityActivity, CustomerID: customerID,
			OwnerID: a.OwnerID, Segment: a.Segment, Spans: a.Spans, Version: a.Version, Rev: rev + 1}
		if len(a.Cycles) > 0 {
			it.Cycles = map[string]int64{}
			for b, n := range a.Cycles {
				it.Cycles[strconv.Itoa(b)] = n
			}
		}
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return fmt.Errorf("marshal activity: %w", err)
		}
		cond, values := "attribute_not_exists(PK)", map[string]types.AttributeValue(nil)
		if ok {
			cond, values = "rev = :rev", map[string]types.AttributeValue{":rev": &types.AttributeValueMemberN{Value: strconv.FormatInt(rev, 10)}}
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: &cond, ExpressionAttributeValues: values})
		if !isConditionFailed(err) || attempt == 4 {
			return wrap(err, "put activity")
		}
	}
}

// ApplyChange derives the outcome items from one change of a stream: a
// customer's creation, verification, update, lost mark or erasure; an
// interaction logged; a complaint filed. It is idempotent, so a record
// delivered twice changes nothing more.
func (s *Outcomes) ApplyChange(ctx context.Context, dormantAfter time.Duration, oldImage, newImage map[string]types.AttributeValue) error {
	switch newType, oldType := strAttr(newImage, "type"), strAttr(oldImage, "type"); {
	case newType == entityCustomer:
		next, err := plainCustomer(newImage)
		if err != nil {
			return err
		}
		var prev *crm.Customer
		if oldType == entityCustomer {
			p, err := plainCustomer(oldImage)
			if err != nil {
				return err
			}
			prev = &p
		}
		if err := s.updateActivity(ctx, next.ID, false, func(a *crm.Activity) bool { return a.ApplyCustomer(prev, next, dormantAfter) }); err != nil {
			return err
		}
		if len(crm.SuspectCodes(next)) > 0 || (prev != nil && len(crm.SuspectCodes(*prev)) > 0) {
			return s.reconcileSuspect(ctx, next.ID)
		}
	case newType == entityTombstone && oldType == entityCustomer:
		id := strAttr(newImage, "id")
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: activityKey(id)}); err != nil {
			return wrap(err, "delete activity")
		}
		return s.reconcileSuspect(ctx, id)
	case oldType == "" && (newType == entityInteraction || newType == entityComplaint):
		at, err := time.Parse(time.RFC3339Nano, strAttr(newImage, "createdAt"))
		if err != nil {
			return nil // not a record this view counts
		}
		if newType == entityInteraction {
			// An interaction may be logged after the fact: it counts when
			// it happened, never later than when it was logged.
			if when, err := time.Parse(time.RFC3339Nano, strAttr(newImage, "at")); err == nil && when.Before(at) {
				at = when
			}
		}
		return s.updateActivity(ctx, strAttr(newImage, "customerId"), true, func(a *crm.Activity) bool {
			return a.Touch(at, dormantAfter)
		})
	}
	return nil
}

// reconcileSuspect makes a customer's suspect marker agree with its stored
// profile as it is now, whatever the order records arrive in.
func (s *Outcomes) reconcileSuspect(ctx context.Context, customerID string) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(customerID), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "get customer")
	}
	var codes []string
	var c crm.Customer
	if strAttr(out.Item, "type") == entityCustomer {
		if c, err = plainCustomer(out.Item); err != nil {
			return err
		}
		codes = crm.SuspectCodes(c)
	}
	if len(codes) == 0 {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: suspectKey(customerID)})
		return wrap(err, "delete suspect marker")
	}
	item := suspectKey(customerID)
	item["type"] = &types.AttributeValueMemberS{Value: entitySuspectMarker}
	item["customerId"] = &types.AttributeValueMemberS{Value: customerID}
	item["GSI2PK"] = &types.AttributeValueMemberS{Value: suspectPartition}
	item["GSI2SK"] = &types.AttributeValueMemberS{Value: sortTime(c.CreatedAt) + "#" + customerID}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return wrap(err, "put suspect marker")
}

// outcomeContribution is what an outcome item counts for: a customer's
// activity, or a self-service link.
func outcomeContribution(item map[string]types.AttributeValue) (contribution, bool, error) {
	switch strAttr(item, "type") {
	case entityActivity:
		a, _, err := decodeActivity(item)
		if err != nil {
			return contribution{}, true, err
		}
		return contribution{counts: crm.ActivityContribution(a), entity: a.CustomerID}, true, nil
	case entityPortalLink:
		var it portalItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return contribution{}, true, fmt.Errorf("unmarshal portal link: %w", err)
		}
		return contribution{counts: crm.LinkContribution(crm.LinkState{OwnerID: it.OwnerID, ValidUntil: it.ValidUntil,
			Used: it.UsedAt != nil, Revoked: it.RevokedAt != nil}), entity: it.ID}, true, nil
	}
	return contribution{}, false, nil
}
