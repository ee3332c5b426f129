package dynamo

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// A bulk reassignment is one job item, "REASSIGN#<from>" / "JOB". Filing
// it, and every step, writes the item with a new step number; the stream
// consumer, seeing the step move, runs the next step (ReassignStep): it
// moves one page of the rep's customers and moves the step on, until a
// page comes back empty. Each customer move is one transaction with its
// audit entry and the job's count, so a step that fails half way and is
// delivered again moves the rest and counts each customer once.
const (
	entityReassignJob = "reassignjob"
	reassignJobSK     = "JOB"
	// reassignPage is how many customers one step moves: a few seconds of
	// work, well inside the stream function's timeout.
	reassignPage = 25
)

func reassignJobKey(from string) map[string]types.AttributeValue {
	return itemKey("REASSIGN#"+from, reassignJobSK)
}

// reassignJobItem is the job as stored; its attributes take the job's JSON
// names.
type reassignJobItem struct {
	PK             string   `json:"PK"`
	SK             string   `json:"SK"`
	Type           string   `json:"type"`
	Step           int      `json:"step"`
	RequestedRoles []string `json:"requestedRoles"`
	crm.ReassignJob
}

// ownerCount counts the customers an owner holds, from the owner index.
func (s *Table) ownerCount(ctx context.Context, owner string) (int, error) {
	n := 0
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexByOwner), Select: types.SelectCount,
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "OWNER#" + owner}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, wrap(err, "count customers of owner")
		}
		n += int(page.Count)
	}
	return n, nil
}

// StartReassign implements crm.ReassignStore.
func (s *Customers) StartReassign(ctx context.Context, job crm.ReassignJob, a crm.Audit) (crm.ReassignJob, error) {
	var err error
	if job.Total, err = s.ownerCount(ctx, job.From); err != nil {
		return job, err
	}
	roles := make([]string, len(a.Actor.Roles))
	for i, r := range a.Actor.Roles {
		roles[i] = string(r)
	}
	it := reassignJobItem{Type: entityReassignJob, Step: 1, RequestedRoles: roles, ReassignJob: job}
	item, err := attributevalue.MarshalMapWithOptions(it, auditTag)
	if err != nil {
		return job, err
	}
	for k, v := range reassignJobKey(job.From) {
		item[k] = v
	}
	put := types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR #s = :done"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": &types.AttributeValueMemberS{Value: crm.ReassignDone}}}}
	err = s.writeAudited(ctx, a, []types.TransactWriteItem{put})
	if _, ok := asCanceled(err); ok {
		return job, crm.Errorf(crm.ECONFLICT, "a reassignment of this rep's customers is still under way")
	}
	return job, wrap(err, "file reassignment")
}

// ReassignJob implements crm.ReassignStore.
func (s *Customers) ReassignJob(ctx context.Context, from string) (crm.ReassignJob, error) {
	it, found, err := s.reassignJob(ctx, from)
	if err == nil && !found {
		err = crm.Errorf(crm.ENOTFOUND, "no reassignment of this rep's customers")
	}
	return it.ReassignJob, err
}

func (s *Table) reassignJob(ctx context.Context, from string) (reassignJobItem, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: reassignJobKey(from), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return reassignJobItem{}, false, wrap(err, "get reassignment")
	}
	var it reassignJobItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &it, auditTagDecode); err != nil {
		return it, false, err
	}
	return it, true, nil
}

// ReassignStepDue reports whether a stream record asks for a step of a
// reassignment: a job filed, or its step moved on, and not done.
func ReassignStepDue(keys, oldImage, newImage map[string]types.AttributeValue) (from string, ok bool) {
	pk := strAttr(keys, attrPK)
	if !strings.HasPrefix(pk, "REASSIGN#") || strAttr(keys, attrSK) != reassignJobSK || strAttr(newImage, "type") != entityReassignJob {
		return "", false
	}
	if strAttr(newImage, "status") == crm.ReassignDone || attrEqual(oldImage["step"], newImage["step"]) {
		return "", false
	}
	return strings.TrimPrefix(pk, "REASSIGN#"), true
}

// ReassignStep moves the next page of the departing rep's customers, then
// moves the job's step on, or marks it done when none are left.
func (s *Customers) ReassignStep(ctx context.Context, from string) error {
	job, found, err := s.reassignJob(ctx, from)
	if err != nil || !found || job.Status == crm.ReassignDone {
		return err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexByOwner), Limit: aws.Int32(reassignPage),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "OWNER#" + from}}})
	if err != nil {
		return wrap(err, "query customers of owner")
	}
	actor := crm.Actor{ID: job.RequestedBy}
	for _, r := range job.RequestedRoles {
		actor.Roles = append(actor.Roles, crm.Role(r))
	}
	for _, item := range out.Items {
		id := strings.TrimPrefix(strAttr(item, attrPK), "CUST#")
		a := crm.NewAudit(ctx, actor, "customer.reassign", "customer", id, crm.FieldOwnerID)
		if err := s.moveOwner(ctx, id, job.From, job.To, a); err != nil {
			return err
		}
	}
	now := &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}
	set := "SET #s = :running, step = step + :one, updatedAt = :now"
	values := map[string]types.AttributeValue{":running": &types.AttributeValueMemberS{Value: crm.ReassignRunning},
		":one": num(1), ":now": now, ":step": num(job.Step)}
	if len(out.Items) == 0 {
		set = "SET #s = :done, updatedAt = :now, finishedAt = :now"
		values = map[string]types.AttributeValue{":done": &types.AttributeValueMemberS{Value: crm.ReassignDone}, ":now": now, ":step": num(job.Step)}
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: reassignJobKey(from),
		UpdateExpression: aws.String(set), ConditionExpression: aws.String("step = :step"),
		ExpressionAttributeNames: map[string]string{"#s": "status"}, ExpressionAttributeValues: values})
	if isConditionFailed(err) {
		return nil // another delivery took this step
	}
	return wrap(err, "advance reassignment")
}

// moveOwner gives customer id, if from still owns it, to to: the stored
// item is written back with the new owner and a new version, its sealed
// fields untouched (their binding names the item, not its owner), with
// the audit entry and the job's count in the same transaction.
func (s *Table) moveOwner(ctx context.Context, id, from, to string, a crm.Audit) error {
	item, err := s.getCustomerItem(ctx, id)
	if code := crm.ErrorCode(err); code == crm.ENOTFOUND || code == crm.EGONE {
		return nil
	}
	if err != nil {
		return err
	}
	if strAttr(item, "ownerId") != from {
		return nil
	}
	v, _ := item["version"].(*types.AttributeValueMemberN)
	if v == nil {
		return integrityError()
	}
	version, _ := strconv.ParseInt(v.Value, 10, 64)
	item["ownerId"] = &types.AttributeValueMemberS{Value: to}
	item["GSI1PK"] = &types.AttributeValueMemberS{Value: "OWNER#" + to}
	item["updatedAt"] = &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}
	item["version"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(version+1, 10)}
	ops := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("version = :v AND ownerId = :from"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": v, ":from": &types.AttributeValueMemberS{Value: from}}}},
		{Update: &types.Update{TableName: &s.table, Key: reassignJobKey(from), UpdateExpression: aws.String("ADD moved :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}}},
	}
	err = s.writeAudited(ctx, a, ops)
	if _, ok := asCanceled(err); ok {
		return crm.Errorf(crm.EUNAVAILABLE, "a customer changed during the reassignment; retry")
	}
	return wrap(err, "reassign customer "+id)
}
