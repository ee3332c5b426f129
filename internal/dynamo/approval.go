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
	entityApproval = "approval"
	skApproval     = "APPROVAL"
)

// Approvals stores four-eyes requests.
type Approvals struct{ *Table }

var _ crm.ApprovalStore = (*Approvals)(nil)

// Approvals returns the approval store of t.
func (t *Table) Approvals() *Approvals { return &Approvals{t} }

func approvalPK(id string) string { return "APPROVAL#" + id }

// approvalStatusPK is the partition of the kind index that lists the
// requests of one status, oldest first.
func approvalStatusPK(status string) string { return "APPROVAL#" + status }

// approvalPendingKeep is how long past its expiry a request nobody decided
// is kept before DynamoDB deletes it, sealed body and all: long enough for
// a reader to close it as expired, on record, first.
const approvalPendingKeep = 30 * 24 * time.Hour

// approvalItem is a request as stored: its plain attributes (status
// included) are what a stream reader sees, to derive the approval events
// from; the pending operation's body is sealed, and removed once decided.
type approvalItem struct {
	PK          string     `dynamodbav:"PK"`
	SK          string     `dynamodbav:"SK"`
	Type        string     `dynamodbav:"type"`
	GSI3PK      string     `dynamodbav:"GSI3PK"`
	GSI3SK      string     `dynamodbav:"GSI3SK"`
	ID          string     `dynamodbav:"id"`
	Kind        string     `dynamodbav:"kind"`
	CustomerID  string     `dynamodbav:"customerId"`
	Status      string     `dynamodbav:"status"`
	Fields      []string   `dynamodbav:"fields"`
	RequestedBy string     `dynamodbav:"requestedBy"`
	RequestedAt time.Time  `dynamodbav:"requestedAt"`
	Until       time.Time  `dynamodbav:"until"`
	DecidedBy   string     `dynamodbav:"decidedBy,omitempty"`
	DecidedAt   *time.Time `dynamodbav:"decidedAt,omitempty"`
	Version     int64      `dynamodbav:"customerVersion"`
	ExpiresAt   *int64     `dynamodbav:"expiresAt,omitempty"`
}

type approvalSecrets struct {
	Payload []byte `json:"payload"`
}

func fromApprovalItem(item map[string]types.AttributeValue) (crm.Approval, error) {
	var it approvalItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Approval{}, fmt.Errorf("unmarshal approval: %w", err)
	}
	ap := crm.Approval{ID: it.ID, Kind: it.Kind, CustomerID: it.CustomerID, Status: it.Status, Fields: it.Fields,
		RequestedBy: it.RequestedBy, RequestedAt: it.RequestedAt.UTC(), ExpiresAt: it.Until.UTC(), DecidedBy: it.DecidedBy, Version: it.Version}
	if it.DecidedAt != nil {
		ap.DecidedAt = it.DecidedAt.UTC()
	}
	if ap.Fields == nil {
		ap.Fields = []string{}
	}
	return ap, nil
}

// CreateApproval implements crm.ApprovalStore.
func (s *Approvals) CreateApproval(ctx context.Context, ap crm.Approval, a crm.Audit) error {
	item, err := attributevalue.MarshalMap(approvalItem{PK: approvalPK(ap.ID), SK: skApproval, Type: entityApproval,
		GSI3PK: approvalStatusPK(crm.ApprovalPending), GSI3SK: sortTime(ap.RequestedAt) + "#" + ap.ID,
		ID: ap.ID, Kind: ap.Kind, CustomerID: ap.CustomerID, Status: crm.ApprovalPending, Fields: ap.Fields,
		RequestedBy: ap.RequestedBy, RequestedAt: ap.RequestedAt.UTC(), Until: ap.ExpiresAt.UTC(), Version: ap.Version,
		ExpiresAt: expiry(ap.ExpiresAt, approvalPendingKeep)})
	if err != nil {
		return fmt.Errorf("marshal approval: %w", err)
	}
	if len(ap.Payload) > 0 {
		if err := s.seal(ctx, entityApproval, item, &approvalSecrets{Payload: ap.Payload}); err != nil {
			return err
		}
	}
	err = s.writeAudited(ctx, a, []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}})
	return wrap(err, "put approval")
}

// GetApproval implements crm.ApprovalStore.
func (s *Approvals) GetApproval(ctx context.Context, id string) (crm.Approval, error) {
	if !validID(id) {
		return crm.Approval{}, crm.Errorf(crm.ENOTFOUND, "approval not found")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(approvalPK(id), skApproval), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Approval{}, wrap(err, "get approval "+id)
	}
	if out.Item == nil || s.expired(out.Item) {
		return crm.Approval{}, crm.Errorf(crm.ENOTFOUND, "approval %s not found", id)
	}
	ap, err := fromApprovalItem(out.Item)
	if err != nil {
		return crm.Approval{}, err
	}
	var sec approvalSecrets
	if err := s.open(ctx, entityApproval, out.Item, &sec); err != nil {
		return crm.Approval{}, err
	}
	ap.Payload = sec.Payload
	return ap, nil
}

// ListApprovals implements crm.ApprovalStore. The list carries no
// payloads: nothing sealed is opened for it.
func (s *Approvals) ListApprovals(ctx context.Context, status string, p crm.Page) ([]crm.Approval, string, error) {
	src := indexSource(IndexByKind, "GSI3PK", "GSI3SK", approvalStatusPK(status))
	src.ascending = true
	return paginate(ctx, s.Table, src, p, "approvals|"+status,
		func(ctx context.Context, items []map[string]types.AttributeValue) ([]*crm.Approval, error) {
			out := make([]*crm.Approval, len(items))
			for i, item := range items {
				if s.expired(item) {
					continue
				}
				ap, err := fromApprovalItem(item)
				if err != nil {
					return nil, err
				}
				if ap.Status == status {
					out[i] = &ap
				}
			}
			return out, nil
		})
}

// closeOp closes a pending request with ap's status and decision, and
// drops its sealed body: the request stays, as a record of who decided
// what, without the data it carried. Any operation that applies a
// request commits this with its own writes.
func (s *Table) closeOp(ap crm.Approval) types.TransactWriteItem {
	set := "SET #st = :st, GSI3PK = :pk, decidedAt = :at"
	values := map[string]types.AttributeValue{
		":st":      &types.AttributeValueMemberS{Value: ap.Status},
		":pk":      &types.AttributeValueMemberS{Value: approvalStatusPK(ap.Status)},
		":at":      &types.AttributeValueMemberS{Value: ap.DecidedAt.UTC().Format(time.RFC3339Nano)},
		":pending": &types.AttributeValueMemberS{Value: crm.ApprovalPending},
	}
	if ap.DecidedBy != "" {
		set += ", decidedBy = :by"
		values[":by"] = &types.AttributeValueMemberS{Value: ap.DecidedBy}
	}
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: itemKey(approvalPK(ap.ID), skApproval),
		UpdateExpression:          aws.String(set + " REMOVE sealed, edk, ectx, expiresAt"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND #st = :pending"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	}}
}

// CloseApproval implements crm.ApprovalStore.
func (s *Approvals) CloseApproval(ctx context.Context, ap crm.Approval, a crm.Audit) error {
	err := s.writeAudited(ctx, a, []types.TransactWriteItem{s.closeOp(ap)})
	if _, ok := asCanceled(err); ok {
		return s.decidedMeanwhile(ctx, ap.ID, err)
	}
	return wrap(err, "close approval "+ap.ID)
}

// decidedMeanwhile explains a write with a request's close that was
// refused: ECONFLICT when the request is no longer pending, otherwise
// err, the other condition's failure.
func (s *Approvals) decidedMeanwhile(ctx context.Context, id string, err error) error {
	cur, gerr := s.GetApproval(ctx, id)
	if gerr != nil {
		return gerr
	}
	if cur.Status != crm.ApprovalPending {
		return crm.Errorf(crm.ECONFLICT, "approval %s is already %s", id, cur.Status)
	}
	return err
}

// ApproveUpdate implements crm.ApprovalStore.
func (s *Approvals) ApproveUpdate(ctx context.Context, ap crm.Approval, prev, next crm.Customer, a crm.Audit) error {
	ops, err := s.updateOps(ctx, prev, next)
	if err != nil {
		return err
	}
	err = s.transact(ctx, append(ops, s.closeOp(ap)), next, a, "approve update")
	if crm.ErrorCode(err) == crm.EPRECONDITION {
		return s.decidedMeanwhile(ctx, ap.ID, err)
	}
	return err
}

// ApproveErase implements crm.ApprovalStore.
func (s *Approvals) ApproveErase(ctx context.Context, ap crm.Approval, a crm.Audit) error {
	err := s.erase(ctx, ap.CustomerID, a, ap.Version, []types.TransactWriteItem{s.closeOp(ap)})
	if crm.ErrorCode(err) == crm.EPRECONDITION {
		return s.decidedMeanwhile(ctx, ap.ID, err)
	}
	return err
}
