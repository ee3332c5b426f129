package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Re-pointing moves what hangs off one customer to another: interactions
// and consent records (in the customer's partition), complaints and
// reminders (found through the subject index, as reassignment finds
// them). A merge moves every child of the merged-away customer and marks
// each with the merge's id; its undo moves back exactly the marked ones.
// Every step is idempotent and keyed on where the item is now, so a
// crash half way is finished by running it again (the stream does).

const (
	attrMergeID    = "mergeId"
	attrMergedFrom = "mergedFrom"
	// attrMergeAppended marks a consent record a merge itself wrote.
	attrMergeAppended = "mergeAppended"
)

// moveChildren re-points src's children to dst, whose owner is dstOwner.
// Going forward every child moves and is marked with mergeID; going back
// only those marked with mergeID move, and lose the mark. Interactions
// move only with sealed: their notes are sealed to their item's key, so
// moving one seals it anew, which only the customers function may do (the
// stream's reader, in the reports function, may not).
func (s *Table) moveChildren(ctx context.Context, src, dst, dstOwner, mergeID string, back, sealed bool) error {
	take := func(item map[string]types.AttributeValue) bool { return !back || strAttr(item, attrMergeID) == mergeID }
	mark := func(item map[string]types.AttributeValue) {
		if back {
			delete(item, attrMergeID)
			delete(item, attrMergedFrom)
			return
		}
		item[attrMergeID] = &types.AttributeValueMemberS{Value: mergeID}
		item[attrMergedFrom] = &types.AttributeValueMemberS{Value: src}
	}
	if sealed {
		if err := s.moveInteractions(ctx, src, dst, take, mark); err != nil {
			return err
		}
	}
	if err := s.moveConsents(ctx, src, dst, mergeID, back, take, mark); err != nil {
		return err
	}
	if err := s.moveComplaints(ctx, src, dst, dstOwner, mergeID, back, take); err != nil {
		return err
	}
	return s.moveReminders(ctx, src, dst, take, mark)
}

// moveInteractions copies each interaction into dst's partition, sealed
// anew (a sealed field is bound to its item's key), then deletes the
// original: a crash between the two leaves a copy the next run overwrites.
func (s *Table) moveInteractions(ctx context.Context, src, dst string, take func(map[string]types.AttributeValue) bool, mark func(map[string]types.AttributeValue)) error {
	return s.eachInPartition(ctx, customerPK(src), "INT#", func(item map[string]types.AttributeValue) error {
		if !take(item) {
			return nil
		}
		var it interactionItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("unmarshal interaction: %w", err)
		}
		var sec interactionSecrets
		if err := s.open(ctx, entityInteraction, item, &sec); err != nil {
			return err
		}
		it.PK, it.CustomerID = customerPK(dst), dst
		moved, err := attributevalue.MarshalMap(it)
		if err != nil {
			return fmt.Errorf("marshal interaction: %w", err)
		}
		mark(moved)
		if err := s.seal(ctx, entityInteraction, moved, &sec); err != nil {
			return err
		}
		return s.putThenDelete(ctx, moved, item, "move interaction")
	})
}

// moveConsents moves each consent record into dst's partition. A moved
// record's sort key gains the merge's id, so that it cannot overwrite a
// record of dst made in the same instant; moving back takes it off.
func (s *Table) moveConsents(ctx context.Context, src, dst, mergeID string, back bool, take func(map[string]types.AttributeValue) bool, mark func(map[string]types.AttributeValue)) error {
	return s.eachInPartition(ctx, customerPK(src), skConsentPrefix, func(item map[string]types.AttributeValue) error {
		if !take(item) {
			return nil
		}
		moved := map[string]types.AttributeValue{}
		for k, v := range item {
			moved[k] = v
		}
		sk := strAttr(item, attrSK)
		if back {
			sk = strings.TrimSuffix(sk, "#"+mergeID)
		} else {
			sk += "#" + mergeID
		}
		moved[attrPK] = &types.AttributeValueMemberS{Value: customerPK(dst)}
		moved[attrSK] = &types.AttributeValueMemberS{Value: sk}
		moved["customerId"] = &types.AttributeValueMemberS{Value: dst}
		mark(moved)
		return s.putThenDelete(ctx, moved, item, "move consent record")
	})
}

func (s *Table) putThenDelete(ctx context.Context, put, old map[string]types.AttributeValue, op string) error {
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: put}); err != nil {
		return wrap(err, op)
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: map[string]types.AttributeValue{attrPK: old[attrPK], attrSK: old[attrSK]}})
	return wrap(err, op)
}

// moveComplaints points each complaint's customer and owner index at dst.
// The assignee stays: the people working a complaint are not changed by
// whose record it is filed under. The version moves, so that a write
// prepared from the old item fails its condition and is retried.
func (s *Table) moveComplaints(ctx context.Context, src, dst, dstOwner, mergeID string, back bool, take func(map[string]types.AttributeValue) bool) error {
	return s.eachSubjectItem(ctx, "CCUST#"+src, func(item map[string]types.AttributeValue) error {
		if strAttr(item, "type") != entityComplaint || !take(item) {
			return nil
		}
		set := "SET customerId = :dst, GSI5PK = :pk, customerOwnerId = :o, GSI7PK = :opk, version = version + :one"
		values := map[string]types.AttributeValue{
			":dst": &types.AttributeValueMemberS{Value: dst}, ":src": &types.AttributeValueMemberS{Value: src},
			":pk": &types.AttributeValueMemberS{Value: "CCUST#" + dst}, ":o": &types.AttributeValueMemberS{Value: dstOwner},
			":opk": &types.AttributeValueMemberS{Value: "COWNER#" + dstOwner}, ":one": &types.AttributeValueMemberN{Value: "1"}}
		if back {
			set += " REMOVE " + attrMergeID + ", " + attrMergedFrom
		} else {
			set += ", " + attrMergeID + " = :m, " + attrMergedFrom + " = :src"
			values[":m"] = &types.AttributeValueMemberS{Value: mergeID}
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
			Key:              map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]},
			UpdateExpression: aws.String(set), ConditionExpression: aws.String("customerId = :src"), ExpressionAttributeValues: values})
		if isConditionFailed(err) {
			return nil // moved meanwhile
		}
		return wrap(err, "move complaint")
	})
}

// moveReminders points each reminder's customer, and its subject where the
// subject is the customer itself, at dst. The assignee stays.
func (s *Table) moveReminders(ctx context.Context, src, dst string, take func(map[string]types.AttributeValue) bool, mark func(map[string]types.AttributeValue)) error {
	return s.eachSubjectItem(ctx, "RCUST#"+src, func(item map[string]types.AttributeValue) error {
		if !take(item) {
			return nil
		}
		r, err := reminderUnmarshal(item)
		if err != nil {
			return err
		}
		r.CustomerID = dst
		if r.SubjectType == "customer" && r.SubjectID == src {
			r.SubjectID = dst
		}
		next, err := reminderMarshal(r)
		if err != nil {
			return err
		}
		mark(next)
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: next,
			ConditionExpression:       aws.String("GSI5PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "RCUST#" + src}}})
		if isConditionFailed(err) {
			return nil
		}
		return wrap(err, "move reminder")
	})
}
