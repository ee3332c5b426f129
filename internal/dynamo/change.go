package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The last audited change of an entity, written on its item in the same
// transaction as the change and its audit entry. The domain events read
// them from the stream's new image: who acted, what the action was and the
// names of the fields it changed, never their values. Because they are
// part of the write, an event can never disagree with the write it
// describes, and a write that failed leaves neither.
const (
	AttrChangeActor  = "changedBy"
	AttrChangeAction = "changeAction"
	AttrChangeFields = "changedFields"
	// AttrAuditSeq is the entity's audit sequence number, advanced by
	// every audited change of it: with the entity's id it names one
	// change for good.
	AttrAuditSeq = attrAuditSeq
)

// stampChange records e's actor, action and changed field names on the
// item of a's entity among ops, if one is written whole.
func stampChange(a crm.Audit, ops []types.TransactWriteItem, e crm.AuditEntry) {
	for _, op := range ops {
		if op.Put == nil {
			continue
		}
		item := op.Put.Item
		t, _ := item["type"].(*types.AttributeValueMemberS)
		id, _ := item["id"].(*types.AttributeValueMemberS)
		if t == nil || id == nil || t.Value != a.EntityType || id.Value != a.EntityID {
			continue
		}
		fields := make([]types.AttributeValue, len(e.ChangedFields))
		for i, f := range e.ChangedFields {
			fields[i] = &types.AttributeValueMemberS{Value: f}
		}
		item[AttrChangeActor] = &types.AttributeValueMemberS{Value: e.Actor}
		item[AttrChangeAction] = &types.AttributeValueMemberS{Value: e.Action}
		item[AttrChangeFields] = &types.AttributeValueMemberL{Value: fields}
		return
	}
}
