package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// PutReminder stores a reminder as the reminder run would, for tests that
// need one of a customer without running the reminder run.
func (s *Table) PutReminder(ctx context.Context, r crm.Reminder) error {
	item, err := reminderMarshal(r)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return err
}

// DumpCustomer renders, canonically, everything held about a customer
// that a merge and its undo touch: the profile (less its version), the
// claims it holds and whether each lookup value finds it, its tags,
// interactions, consent records, complaints and reminders. Two dumps are
// equal when the customer was restored exactly.
func (s *Table) DumpCustomer(ctx context.Context, id string) (string, error) {
	c, claims, err := s.getCustomer(ctx, id)
	if err != nil {
		return "", err
	}
	c.Version = 0
	out := map[string]any{"customer": c, "createdBy": c.CreatedBy}
	slices.Sort(claims)
	out["claims"] = claims
	var lookups []string
	for _, f := range lookupFields {
		v := f.value(c)
		if v == "" {
			continue
		}
		holder, err := s.claimHolder(ctx, f.name, v)
		if err != nil {
			return "", err
		}
		member, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(s.lookupPK(f.name, v), customerPK(id)), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return "", err
		}
		lookups = append(lookups, fmt.Sprintf("%s holder=%t member=%t", f.name, holder == id, member.Item != nil))
	}
	out["lookups"] = lookups
	var rows []string
	err = s.eachInPartition(ctx, customerPK(id), "", func(item map[string]types.AttributeValue) error {
		sk := strAttr(item, attrSK)
		switch {
		case strings.HasPrefix(sk, "TAG#"):
			rows = append(rows, sk)
		case strings.HasPrefix(sk, "INT#"):
			var it interactionItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return err
			}
			var sec interactionSecrets
			if err := s.open(ctx, entityInteraction, item, &sec); err != nil {
				return err
			}
			b, _ := json.Marshal(struct {
				It  interactionItem
				Sec interactionSecrets
				M   string
			}{it, sec, strAttr(item, attrMergeID)})
			rows = append(rows, string(b))
		case strings.HasPrefix(sk, skConsentPrefix):
			r, err := fromConsentItem(item)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(struct {
				SK string
				R  crm.ConsentRecord
				M  string
			}{sk, r, strAttr(item, attrMergeID)})
			rows = append(rows, string(b))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, pk := range []string{"CCUST#" + id, "RCUST#" + id} {
		err = s.eachSubjectItem(ctx, pk, func(item map[string]types.AttributeValue) error {
			keep := map[string]any{}
			for _, a := range []string{"PK", "id", "customerId", "customerOwnerId", "assigneeId", "status", "subjectId", "subjectType", "GSI5PK", "GSI7PK", "GSI1PK", attrMergeID} {
				keep[a] = strAttr(item, a)
			}
			b, _ := json.Marshal(keep)
			rows = append(rows, string(b))
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	slices.Sort(rows)
	out["children"] = rows
	b, err := json.MarshalIndent(out, "", " ")
	return string(b), err
}
