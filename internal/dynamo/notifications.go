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

// Notification delivery. A notification is recorded pending in the same
// transaction as the change that owes it, leased to the process that made
// the change; that process sends it and marks it sent or failed. A pending
// one whose lease ran out (its process died) or a failed one is sent again
// by the next reminder run, which takes a lease first, so two runs never
// both send it. After maxNotifyAttempts failures it is dead: kept, listed
// by `clientele outbox`, no longer tried.
const (
	notifyLease       = 2 * time.Minute
	maxNotifyAttempts = 5
)

// Notification statuses.
const (
	notifyPending = "pending"
	notifySent    = "sent"
	notifyFailed  = "failed"
	notifyDead    = "dead"
)

// notificationItem records a notification owed. Until it is sent it sits
// on the due index under its status.
type notificationItem struct {
	PK            string     `dynamodbav:"PK"`
	SK            string     `dynamodbav:"SK"`
	Type          string     `dynamodbav:"type"`
	GSI4PK        string     `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK        string     `dynamodbav:"GSI4SK,omitempty"`
	ID            string     `dynamodbav:"id"`
	Kind          string     `dynamodbav:"kind"`
	RecipientType string     `dynamodbav:"recipientType"`
	RecipientID   string     `dynamodbav:"recipientId"`
	SubjectType   string     `dynamodbav:"subjectType"`
	SubjectID     string     `dynamodbav:"subjectId"`
	At            time.Time  `dynamodbav:"at"`
	LinkID        string     `dynamodbav:"linkId,omitempty"`
	LinkExpiresAt *time.Time `dynamodbav:"linkExpiresAt,omitempty"`
	Language      string     `dynamodbav:"language,omitempty"`
	Status        string     `dynamodbav:"status"`
	Attempts      int        `dynamodbav:"attempts"`
	LeaseUntil    string     `dynamodbav:"leaseUntil,omitempty"` // sortTime, so it compares as a string
	UpdatedAt     time.Time  `dynamodbav:"updatedAt"`
}

func notificationKey(id string) map[string]types.AttributeValue { return itemKey("NOTIF#"+id, "NOTIF") }

func toNotificationItem(n crm.Notification, status string, attempts int, at time.Time) notificationItem {
	it := notificationItem{
		PK: "NOTIF#" + n.ID, SK: "NOTIF", Type: "notification", ID: n.ID, Kind: n.Kind, RecipientType: n.RecipientType,
		RecipientID: n.RecipientID, SubjectType: n.SubjectType, SubjectID: n.SubjectID, At: n.At,
		LinkID: n.LinkID, LinkExpiresAt: optTime(n.LinkExpiresAt), Language: n.Language, Status: status, Attempts: attempts, UpdatedAt: at,
	}
	if status != notifySent {
		it.GSI4PK, it.GSI4SK = "NOTIFY#"+status, sortTime(n.At)+"#"+n.ID
	}
	return it
}

func fromNotificationItem(item map[string]types.AttributeValue) (crm.Notification, notificationItem, error) {
	var it notificationItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Notification{}, it, fmt.Errorf("unmarshal notification: %w", err)
	}
	return crm.Notification{ID: it.ID, Kind: it.Kind, RecipientType: it.RecipientType, RecipientID: it.RecipientID,
		SubjectType: it.SubjectType, SubjectID: it.SubjectID, At: it.At.UTC(), LinkID: it.LinkID, LinkExpiresAt: fromOpt(it.LinkExpiresAt), Language: it.Language}, it, nil
}

// notificationPut records n pending, leased to the caller.
func (s *Table) notificationPut(n crm.Notification) types.TransactWriteItem {
	it := toNotificationItem(n, notifyPending, 0, n.At)
	it.LeaseUntil = sortTime(s.now().Add(notifyLease))
	item, _ := attributevalue.MarshalMap(it)
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}
}

// MarkNotification implements crm.ComplaintStore and crm.ReminderStore.
func (s *Notifications) MarkNotification(ctx context.Context, n crm.Notification, delivered bool, attempts int, at time.Time) error {
	status := notifyFailed
	switch {
	case delivered:
		status = notifySent
	case attempts >= maxNotifyAttempts:
		status = notifyDead
	}
	item, err := attributevalue.MarshalMap(toNotificationItem(n, status, attempts, at))
	if err != nil {
		return fmt.Errorf("marshal notification: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return wrap(err, "mark notification")
}

// UndeliveredNotifications implements crm.ReminderStore.
func (s *Notifications) UndeliveredNotifications(ctx context.Context, each func([]crm.Notification) error) error {
	now := sortTime(s.now())
	for _, status := range []string{notifyPending, notifyFailed} {
		err := eachPage(ctx, s.Table, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String(IndexByDue), KeyConditionExpression: aws.String("GSI4PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "NOTIFY#" + status}},
			Limit:                     aws.Int32(100),
		}, func(item map[string]types.AttributeValue) (crm.Notification, bool, error) {
			n, it, err := fromNotificationItem(item)
			return n, err == nil && it.LeaseUntil < now, err
		}, each)
		if err != nil {
			return err
		}
	}
	return nil
}

// ClaimNotification implements crm.ReminderStore: a conditional update
// takes the lease and counts the attempt.
func (s *Notifications) ClaimNotification(ctx context.Context, n crm.Notification) (int, bool, error) {
	now := s.now().UTC()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: notificationKey(n.ID),
		UpdateExpression:         aws.String("SET leaseUntil = :lease ADD attempts :one"),
		ConditionExpression:      aws.String("#s IN (:pending, :failed) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":lease":   &types.AttributeValueMemberS{Value: sortTime(now.Add(notifyLease))},
			":now":     &types.AttributeValueMemberS{Value: sortTime(now)},
			":one":     &types.AttributeValueMemberN{Value: "1"},
			":pending": &types.AttributeValueMemberS{Value: notifyPending},
			":failed":  &types.AttributeValueMemberS{Value: notifyFailed},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap(err, "claim notification")
	}
	a, _ := out.Attributes["attempts"].(*types.AttributeValueMemberN)
	if a == nil {
		return 0, false, fmt.Errorf("claim notification %s returned no attempts", n.ID)
	}
	attempts, err := strconv.Atoi(a.Value)
	return attempts, err == nil, err
}
