package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Moved counts what a reassignment brought into line.
type Moved struct {
	// Complaints counts those whose assignee moved too.
	Complaints int
	Reminders  int
	Links      int
}

// Reassigned brings what hangs off a customer into line with who owns it
// now: its complaints' owner index (what a rep's complaint list reads),
// its open customer reminders (stale record, follow-ups), and the
// self-service links opened before changedAt, which it revokes, since the
// rep who opened them may no longer see the customer.
//
// It derives everything from the customer's current owner, read
// consistently, so a redelivered or reordered change converges on the
// present state, and each item is written only if it differs from it:
// running it again moves nothing. The table stream's consumer calls it
// for every change of a customer's owner; merges and bulk reassignment go
// through the same path. A customer that is gone moves nothing: erasure
// scrubs and revokes on its own.
func (s *Customers) Reassigned(ctx context.Context, customerID string, changedAt time.Time) (Moved, error) {
	var m Moved
	// Only the owner matters here: the plain attributes, read
	// consistently, with nothing to open.
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(customerPK(customerID), skProfile), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return m, wrap(err, "get customer "+customerID)
	}
	if t, _ := out.Item["type"].(*types.AttributeValueMemberS); t == nil || t.Value != entityCustomer {
		return m, nil // gone or erased
	}
	c, err := plainCustomer(out.Item)
	if err != nil {
		return m, err
	}
	complaints, err := s.reownComplaints(ctx, c)
	if err != nil {
		return m, err
	}
	m.Complaints = len(complaints)
	if m.Reminders, err = s.reownReminders(ctx, c, complaints); err != nil {
		return m, err
	}
	m.Links, err = s.revokeLinks(ctx, customerID, changedAt, changedAt)
	return m, err
}

// reownComplaints points the owner index of each of c's complaints at c's
// owner; an open complaint that was assigned to the former owner (as the
// owner assignment does) goes to the new owner too, with a timeline entry.
// Each changed complaint's version moves, so that a transition prepared
// from the old item fails its condition and is retried on the new one
// rather than writing the old owner back. It returns the complaints whose
// assignee changed, by id, with the former assignee.
func (s *Customers) reownComplaints(ctx context.Context, c crm.Customer) (map[string]string, error) {
	moved := map[string]string{}
	err := s.eachSubjectItem(ctx, "CCUST#"+c.ID, func(item map[string]types.AttributeValue) error {
		var it complaintItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		if it.Type != entityComplaint || it.CustomerOwnerID == c.OwnerID {
			return nil
		}
		set := "SET customerOwnerId = :o, GSI7PK = :pk, version = version + :one"
		values := map[string]types.AttributeValue{
			":o": &types.AttributeValueMemberS{Value: c.OwnerID}, ":pk": &types.AttributeValueMemberS{Value: "COWNER#" + c.OwnerID},
			":one": &types.AttributeValueMemberN{Value: "1"}, ":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)}}
		ops := []types.TransactWriteItem{}
		if crm.Open(it.Status) && it.AssigneeID == it.CustomerOwnerID {
			set += ", assigneeId = :o, GSI1PK = :apk, timelineLen = timelineLen + :one"
			values[":apk"] = &types.AttributeValueMemberS{Value: "ASSIGNEE#" + c.OwnerID}
			entry := crm.TimelineEntry{Seq: it.TimelineLen + 1, At: s.now().UTC(), ActorID: crm.ReassignActor.ID,
				Action: crm.ActionReassigned, From: it.Status, To: it.Status, AssigneeID: c.OwnerID,
				Note: "reassigned with the customer to its new owner"}
			tl, err := s.timelinePut(ctx, it.ID, entry)
			if err != nil {
				return err
			}
			ops = append(ops, tl)
			moved[it.ID] = it.AssigneeID
		}
		ops = append([]types.TransactWriteItem{{Update: &types.Update{TableName: &s.table,
			Key:                 map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]},
			UpdateExpression:    aws.String(set),
			ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: values}}}, ops...)
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
		if _, ok := asCanceled(err); ok {
			// Changed since it was read: a redelivery reads it anew.
			delete(moved, it.ID)
			return crm.Errorf(crm.EUNAVAILABLE, "a complaint changed during the reassignment; retry")
		}
		return wrap(err, "reassign complaint")
	})
	return moved, err
}

// reownReminders gives c's open reminders about the customer itself to
// its owner, and those about a complaint whose assignee reownComplaints
// moved to the complaint's new assignee; other SLA reminders stay with
// their complaint's assignee.
func (s *Customers) reownReminders(ctx context.Context, c crm.Customer, complaints map[string]string) (int, error) {
	moved := 0
	err := s.eachSubjectItem(ctx, "RCUST#"+c.ID, func(item map[string]types.AttributeValue) error {
		r, err := reminderUnmarshal(item)
		if err != nil {
			return err
		}
		if r.Status != crm.ReminderOpen || r.AssigneeID == c.OwnerID {
			return nil
		}
		if r.SubjectType == "complaint" {
			follows, err := s.followsComplaint(ctx, r, c.OwnerID, complaints)
			if err != nil || !follows {
				return err
			}
		}
		prev := r.AssigneeID
		r.AssigneeID = c.OwnerID
		next, err := reminderMarshal(r)
		if err != nil {
			return err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: next,
			ConditionExpression:      aws.String("#s = :open AND assigneeId = :prev"),
			ExpressionAttributeNames: map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":open": &types.AttributeValueMemberS{Value: crm.ReminderOpen}, ":prev": &types.AttributeValueMemberS{Value: prev}}})
		if isConditionFailed(err) {
			return nil // done or moved meanwhile
		}
		if err != nil {
			return wrap(err, "reassign reminder")
		}
		moved++
		return nil
	})
	return moved, err
}

// followsComplaint reports whether a complaint reminder goes to owner: its
// complaint moved to owner, in this run (complaints) or an earlier
// delivery of the same change.
func (s *Customers) followsComplaint(ctx context.Context, r crm.Reminder, owner string, complaints map[string]string) (bool, error) {
	if former, ok := complaints[r.SubjectID]; ok {
		return r.AssigneeID == former, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(complaintPK(r.SubjectID), skComplaint),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("assigneeId")})
	if err != nil {
		return false, wrap(err, "get complaint "+r.SubjectID)
	}
	assignee, _ := out.Item["assigneeId"].(*types.AttributeValueMemberS)
	return assignee != nil && assignee.Value == owner, nil
}

// revokeLinks ends the customer's links still open at now that were
// opened before before; links recorded without an opening time count as
// opened before. A revoked link stays on record, with revokedAt, until
// its TTL.
func (s *Table) revokeLinks(ctx context.Context, customerID string, before, now time.Time) (int, error) {
	revoked := 0
	stamp := &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	err := s.eachSubjectItem(ctx, "PORTALSUBJ#"+customerID, func(item map[string]types.AttributeValue) error {
		var l portalItem
		if err := attributevalue.UnmarshalMap(item, &l); err != nil {
			return err
		}
		if l.UsedAt != nil || l.RevokedAt != nil || !now.Before(l.ValidUntil) || l.CreatedAt != nil && !l.CreatedAt.Before(before) {
			return nil
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: portalKey(l.ID),
			UpdateExpression:          aws.String("SET revokedAt = :now, validUntil = :now"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": stamp}})
		if isConditionFailed(err) {
			return nil
		}
		if err != nil {
			return wrap(err, "revoke portal link")
		}
		revoked++
		return nil
	})
	return revoked, err
}

// RevokePortalLinks implements crm.LinkRevoker: every link of the customer
// still open at now is revoked, and the revocation audited.
func (s *PortalLinks) RevokePortalLinks(ctx context.Context, customerID string, now time.Time, a crm.Audit) (int, error) {
	n, err := s.revokeLinks(ctx, customerID, now.Add(time.Nanosecond), now)
	if err != nil {
		return n, err
	}
	return n, s.AuditLog().AppendAudit(ctx, a)
}

// eachSubjectItem calls each with every item on GSI5 under pk.
func (s *Table) eachSubjectItem(ctx context.Context, pk string, each func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexBySubject),
		KeyConditionExpression:    aws.String("GSI5PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(err, "query "+pk)
		}
		items, err := s.fetch(ctx, s.table, IndexBySubject, "GSI5PK", pk, page.Items)
		if err != nil {
			return err
		}
		for _, item := range items {
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// OwnerChange reports whether a stream record is a customer changing
// owner, with the customer's id and when the change was made.
func OwnerChange(oldImage, newImage map[string]types.AttributeValue) (customerID string, at time.Time, ok bool) {
	if strAttr(oldImage, "type") != entityCustomer || strAttr(newImage, "type") != entityCustomer ||
		strAttr(oldImage, "ownerId") == strAttr(newImage, "ownerId") {
		return "", time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, strAttr(newImage, "updatedAt"))
	if err != nil {
		return "", time.Time{}, false
	}
	return strAttr(newImage, "id"), at, true
}
