package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Due marks. An item whose next reminder has not been made carries a mark
// on IndexByMark: GSI8PK "DUE#<shard>", GSI8SK "<due instant>#<kind>#<id>".
// Making the reminder removes the mark (or moves it to the next threshold)
// in the same transaction, so the run reads only what is due and not yet
// reminded, however large the table. The shards spread the index's writes.
const dueShards = 4

func dueMark(kind, id string, at time.Time) (pk, sk string) {
	h := fnv.New32a()
	h.Write([]byte(id))
	return "DUE#" + strconv.Itoa(int(h.Sum32()%dueShards)), sortTime(at) + "#" + kind + "#" + id
}

// markRef is what crm.Due.Mark carries: the marked item's key and its mark.
func markRef(pk, sk, mark string) string { return pk + "\x00" + sk + "\x00" + mark }

func parseMarkRef(ref string) (key map[string]types.AttributeValue, mark string, ok bool) {
	parts := strings.Split(ref, "\x00")
	if len(parts) != 3 {
		return nil, "", false
	}
	return itemKey(parts[0], parts[1]), parts[2], true
}

// DueItems implements crm.ReminderStore: a Query per shard for the marks
// due at or before asOf, oldest first.
func (s *Reminders) DueItems(ctx context.Context, asOf time.Time, each func([]crm.Due) error) error {
	for shard := range dueShards {
		err := eachPage(ctx, s.Table, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String(IndexByMark),
			KeyConditionExpression: aws.String("GSI8PK = :pk AND GSI8SK < :below"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk":    &types.AttributeValueMemberS{Value: "DUE#" + strconv.Itoa(shard)},
				":below": &types.AttributeValueMemberS{Value: sortTime(asOf) + "$"},
			},
			Limit: aws.Int32(100),
		}, func(item map[string]types.AttributeValue) (crm.Due, bool, error) { return s.dueFrom(ctx, item) }, each)
		if err != nil {
			return err
		}
	}
	return nil
}

// dueFrom turns a marked item into a crm.Due. Only plain attributes are
// read, except for complaints, which the run may escalate.
func (s *Table) dueFrom(ctx context.Context, item map[string]types.AttributeValue) (crm.Due, bool, error) {
	var head struct {
		PK, SK, GSI8SK string
		Type           string      `dynamodbav:"type"`
		ID             string      `dynamodbav:"id"`
		CustomerID     string      `dynamodbav:"customerId"`
		OwnerID        string      `dynamodbav:"ownerId"`
		Consent        crm.Consent `dynamodbav:"consent"`
		ReviewDueAt    time.Time   `dynamodbav:"reviewDueAt"`
		FollowUpAt     *time.Time  `dynamodbav:"followUpAt"`
	}
	if err := attributevalue.UnmarshalMap(item, &head); err != nil {
		return crm.Due{}, false, fmt.Errorf("unmarshal due item: %w", err)
	}
	d := crm.Due{SubjectID: head.ID, Mark: markRef(head.PK, head.SK, head.GSI8SK)}
	switch head.Type {
	case entityCustomer:
		d.Kind, d.CustomerID, d.At, d.OwnerID, d.Consent = crm.DueReview, head.ID, head.ReviewDueAt.UTC(), head.OwnerID, head.Consent
	case entityInteraction:
		if head.FollowUpAt == nil {
			return crm.Due{}, false, nil
		}
		d.Kind, d.CustomerID, d.At = crm.DueFollowUp, head.CustomerID, head.FollowUpAt.UTC()
	case entityComplaint:
		if s.expired(item) {
			return crm.Due{}, false, nil
		}
		c, err := s.fromComplaintItem(ctx, item)
		if err != nil {
			return crm.Due{}, false, err
		}
		d.Kind, d.CustomerID, d.Complaint = crm.DueSLA, c.CustomerID, &c
		d.At = c.SLADueAt
		if c.SLAWarnedAt.IsZero() && !c.SLAWarnAt.IsZero() {
			d.At = c.SLAWarnAt
		}
	default:
		return crm.Due{}, false, nil
	}
	return d, true, nil
}

// reminderItem is a reminder. Its assignee's list is GSI1, by kind GSI2,
// both sorted by status, then due instant.
// Its attributes take the reminder's JSON names (auditTag).
type reminderItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	Type   string `json:"type"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	GSI2PK string `json:"GSI2PK"`
	GSI2SK string `json:"GSI2SK"`
	// GSI5 lists a customer's reminders, so that they follow the customer
	// to a new owner.
	GSI5PK string `json:"GSI5PK,omitempty"`
	GSI5SK string `json:"GSI5SK,omitempty"`
	crm.Reminder
}

func reminderKey(id string) map[string]types.AttributeValue {
	return itemKey("REMINDER#"+id, "REMINDER")
}

func reminderMarshal(r crm.Reminder) (map[string]types.AttributeValue, error) {
	sk := r.Status + "#" + sortTime(r.DueAt) + "#" + r.ID
	it := reminderItem{PK: "REMINDER#" + r.ID, SK: "REMINDER", Type: "reminder",
		GSI1PK: "REMINDERS#" + r.AssigneeID, GSI1SK: sk, GSI2PK: "REMINDERS#" + r.AssigneeID + "#" + r.Kind, GSI2SK: sk, Reminder: r}
	if r.CustomerID != "" {
		it.GSI5PK, it.GSI5SK = "RCUST#"+r.CustomerID, sk
	}
	item, err := attributevalue.MarshalMapWithOptions(it, auditTag)
	if err != nil {
		return nil, fmt.Errorf("marshal reminder: %w", err)
	}
	return item, nil
}

func reminderUnmarshal(item map[string]types.AttributeValue) (crm.Reminder, error) {
	var it reminderItem
	if err := attributevalue.UnmarshalMapWithOptions(item, &it, auditTagDecode); err != nil {
		return crm.Reminder{}, fmt.Errorf("unmarshal reminder: %w", err)
	}
	r := it.Reminder
	r.DueAt, r.CreatedAt = r.DueAt.UTC(), r.CreatedAt.UTC()
	if !r.DoneAt.IsZero() {
		r.DoneAt = r.DoneAt.UTC()
	}
	return r, nil
}

// RecordReminder implements crm.ReminderStore. The first item of the
// transaction is the reminder, the second the mark's removal (or the
// complaint's escalation), so a cancellation says which of them lost.
func (s *Reminders) RecordReminder(ctx context.Context, rec crm.ReminderRecord) (bool, error) {
	key, mark, ok := parseMarkRef(rec.Due.Mark)
	if !ok {
		return false, fmt.Errorf("due item without a mark")
	}
	clear := s.markOp(key, mark, rec)
	if rec.Reminder == nil {
		err := s.update(ctx, clear.Update)
		return false, err
	}
	item, err := reminderMarshal(*rec.Reminder)
	if err != nil {
		return false, err
	}
	ops := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
	if c := rec.Change; c != nil {
		citem, err := s.toComplaintItem(ctx, c.Next)
		if err != nil {
			return false, err
		}
		tl, err := s.timelinePut(ctx, c.Next.ID, c.Entry)
		if err != nil {
			return false, err
		}
		ops = append(ops, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: citem,
			ConditionExpression: aws.String("version = :v AND GSI8SK = :mark"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":v":    &types.AttributeValueMemberN{Value: strconv.FormatInt(c.Prev.Version, 10)},
				":mark": &types.AttributeValueMemberS{Value: mark},
			}}}, tl)
	} else {
		ops = append(ops, clear)
	}
	if l := rec.Link; l != nil {
		put, err := s.portalPut(*l)
		if err != nil {
			return false, err
		}
		ops = append(ops, put)
	}
	for _, n := range rec.Notes {
		ops = append(ops, s.notificationPut(n))
	}
	if rec.Audit != nil {
		err = s.writeAudited(ctx, *rec.Audit, ops)
	} else {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	}
	tce, canceled := asCanceled(err)
	if !canceled {
		return err == nil, wrap(err, "record reminder")
	}
	if r := tce.CancellationReasons; len(r) > 0 && aws.ToString(r[0].Code) == "ConditionalCheckFailed" {
		// Another run made this reminder; if it could not clear the mark
		// (it was moved meanwhile), clear it now.
		return false, s.update(ctx, clear.Update)
	}
	if r := tce.CancellationReasons; len(r) > 1 && aws.ToString(r[1].Code) == "ConditionalCheckFailed" {
		// The item changed since it was read; the next run sees it as it is.
		return false, nil
	}
	return false, wrap(err, "record reminder")
}

// markOp removes a mark, or moves it to the next threshold, if it is still
// the one read; for a complaint it also records which threshold was met.
func (s *Table) markOp(key map[string]types.AttributeValue, mark string, rec crm.ReminderRecord) types.TransactWriteItem {
	values := map[string]types.AttributeValue{":mark": &types.AttributeValueMemberS{Value: mark}}
	var set []string
	if rec.Due.Kind == crm.DueSLA && rec.Reminder != nil {
		at := &types.AttributeValueMemberS{Value: rec.Reminder.CreatedAt.UTC().Format(time.RFC3339Nano)}
		if rec.Reminder.Kind == crm.ReminderSLAWarning {
			set, values[":warned"] = append(set, "slaWarnedAt = :warned"), at
		} else {
			set, values[":breached"] = append(set, "slaBreachedAt = :breached"), at
		}
	}
	expr := "REMOVE GSI8PK, GSI8SK"
	if !rec.NextMark.IsZero() {
		_, next := dueMark(rec.Due.Kind, rec.Due.SubjectID, rec.NextMark)
		set, values[":next"] = append(set, "GSI8SK = :next"), &types.AttributeValueMemberS{Value: next}
		expr = ""
	}
	if len(set) > 0 {
		expr = strings.TrimSpace("SET " + strings.Join(set, ", ") + " " + expr)
	}
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key, UpdateExpression: &expr,
		ConditionExpression: aws.String("GSI8SK = :mark"), ExpressionAttributeValues: values}}
}

// update applies one conditional update, treating a failed condition as
// nothing left to do.
func (s *Table) update(ctx context.Context, u *types.Update) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err, "clear due mark")
}

// GetReminder implements crm.ReminderStore.
func (s *Reminders) GetReminder(ctx context.Context, id string) (crm.Reminder, error) {
	if !validID(id) {
		return crm.Reminder{}, crm.Errorf(crm.ENOTFOUND, "reminder not found")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: reminderKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Reminder{}, wrap(err, "get reminder")
	}
	if out.Item == nil {
		return crm.Reminder{}, crm.Errorf(crm.ENOTFOUND, "reminder %s not found", id)
	}
	return reminderUnmarshal(out.Item)
}

// CompleteReminder implements crm.ReminderStore.
func (s *Reminders) CompleteReminder(ctx context.Context, prev, next crm.Reminder, a crm.Audit) error {
	item, err := reminderMarshal(next)
	if err != nil {
		return err
	}
	err = s.writeAudited(ctx, a, []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("#s = :open"), ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":open": &types.AttributeValueMemberS{Value: prev.Status}}}}})
	if _, ok := asCanceled(err); ok {
		return crm.Errorf(crm.EPRECONDITION, "reminder %s was changed by someone else", prev.ID)
	}
	return wrap(err, "complete reminder")
}

// ListReminders implements crm.ReminderStore: oldest due first.
func (s *Reminders) ListReminders(ctx context.Context, f crm.ReminderFilter, p crm.Page) ([]crm.Reminder, string, error) {
	src := indexSource(IndexByOwner, "GSI1PK", "GSI1SK", "REMINDERS#"+f.AssigneeID)
	if f.Kind != "" {
		src = indexSource(IndexByGroup, "GSI2PK", "GSI2SK", "REMINDERS#"+f.AssigneeID+"#"+f.Kind)
	}
	if f.Status != "" {
		src.skPrefix = f.Status + "#"
	}
	src.ascending = true
	fp := fmt.Sprintf("reminders|%s|%s|%s", f.AssigneeID, f.Kind, f.Status)
	return paginate(ctx, s.Table, src, p, fp, func(_ context.Context, items []map[string]types.AttributeValue) ([]*crm.Reminder, error) {
		out := make([]*crm.Reminder, len(items))
		for i, item := range items {
			r, err := reminderUnmarshal(item)
			if err != nil {
				return nil, err
			}
			out[i] = &r
		}
		return out, nil
	})
}
