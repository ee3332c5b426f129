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

const (
	entityComplaint = "complaint"
	entityTimeline  = "timeline"
	skComplaint     = "COMPLAINT"
)

func complaintPK(id string) string { return "COMP#" + id }

// complaintItem is a complaint, less its sealed text. Every list the API
// offers has its own index key here; the SLA key is present only while the
// complaint is open, so the breach index holds open complaints alone.
type complaintItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	GSI2PK string `dynamodbav:"GSI2PK"`
	GSI2SK string `dynamodbav:"GSI2SK"`
	GSI3PK string `dynamodbav:"GSI3PK"`
	GSI3SK string `dynamodbav:"GSI3SK"`
	GSI4PK string `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK string `dynamodbav:"GSI4SK,omitempty"`
	GSI5PK string `dynamodbav:"GSI5PK"`
	GSI5SK string `dynamodbav:"GSI5SK"`
	GSI6PK string `dynamodbav:"GSI6PK"`
	GSI6SK string `dynamodbav:"GSI6SK"`
	GSI7PK string `dynamodbav:"GSI7PK"`
	GSI7SK string `dynamodbav:"GSI7SK"`
	GSI8PK string `dynamodbav:"GSI8PK,omitempty"`
	GSI8SK string `dynamodbav:"GSI8SK,omitempty"`

	ID              string     `dynamodbav:"id"`
	CustomerID      string     `dynamodbav:"customerId"`
	CustomerOwnerID string     `dynamodbav:"customerOwnerId"`
	Channel         string     `dynamodbav:"channel"`
	Category        string     `dynamodbav:"category"`
	Severity        string     `dynamodbav:"severity"`
	Status          string     `dynamodbav:"status"`
	AssigneeID      string     `dynamodbav:"assigneeId"`
	FiledBy         string     `dynamodbav:"filedBy"`
	CreatedAt       time.Time  `dynamodbav:"createdAt"`
	UpdatedAt       time.Time  `dynamodbav:"updatedAt"`
	AcknowledgedAt  *time.Time `dynamodbav:"acknowledgedAt,omitempty"`
	AckDueAt        time.Time  `dynamodbav:"ackDueAt"`
	SLADueAt        time.Time  `dynamodbav:"slaDueAt"`
	SLAWarnAt       *time.Time `dynamodbav:"slaWarnAt,omitempty"`
	SLAWarnedAt     *time.Time `dynamodbav:"slaWarnedAt,omitempty"`
	SLABreachedAt   *time.Time `dynamodbav:"slaBreachedAt,omitempty"`
	ResolvedAt      *time.Time `dynamodbav:"resolvedAt,omitempty"`
	ClosedAt        *time.Time `dynamodbav:"closedAt,omitempty"`
	EscalationLevel int        `dynamodbav:"escalationLevel"`
	Version         int64      `dynamodbav:"version"`
	TimelineLen     int        `dynamodbav:"timelineLen"`
	ExpiresAt       *int64     `dynamodbav:"expiresAt,omitempty"`
	Erased          bool       `dynamodbav:"erased,omitempty"`
	ExternalRef     string     `dynamodbav:"externalRef,omitempty"`
}

// unlinkedPK is the GSI5 partition of the complaints filed without a
// matching customer: the triage list. Linking moves a complaint to its
// customer's partition, a change of customerId the stream carries.
const unlinkedPK = "CUNLINKED"

type complaintSecrets struct {
	Subject     string          `json:"subject"`
	Description string          `json:"description"`
	Resolution  *crm.Resolution `json:"resolution"`
	Contact     *crm.ContactRef `json:"contact,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromOpt(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func (s *Table) toComplaintItem(ctx context.Context, c crm.Complaint) (map[string]types.AttributeValue, error) {
	created := sortTime(c.CreatedAt) + "#" + c.ID
	it := complaintItem{
		PK: complaintPK(c.ID), SK: skComplaint, Type: entityComplaint,
		GSI1PK: "ASSIGNEE#" + c.AssigneeID, GSI1SK: created,
		GSI2PK: "CSTATUS#" + c.Status, GSI2SK: created,
		GSI3PK: "COMPLAINT", GSI3SK: created,
		GSI5PK: "CCUST#" + c.CustomerID, GSI5SK: created,
		GSI6PK: "CSEV#" + c.Severity, GSI6SK: created,
		GSI7PK: "COWNER#" + c.CustomerOwnerID, GSI7SK: created,
		ID: c.ID, CustomerID: c.CustomerID, CustomerOwnerID: c.CustomerOwnerID, Channel: c.Channel, Category: c.Category,
		Severity: c.Severity, Status: c.Status, AssigneeID: c.AssigneeID, FiledBy: c.FiledBy,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, AcknowledgedAt: optTime(c.AcknowledgedAt), AckDueAt: c.AckDueAt,
		SLADueAt: c.SLADueAt, ResolvedAt: optTime(c.ResolvedAt), ClosedAt: optTime(c.ClosedAt),
		EscalationLevel: c.EscalationLevel, Version: c.Version, TimelineLen: c.TimelineLen,
		SLAWarnAt: optTime(c.SLAWarnAt), SLAWarnedAt: optTime(c.SLAWarnedAt), SLABreachedAt: optTime(c.SLABreachedAt),
		ExternalRef: c.ExternalRef,
	}
	if c.CustomerID == "" {
		it.GSI5PK = unlinkedPK
	}
	if c.Status == crm.StatusClosed {
		it.ExpiresAt = expiry(c.ClosedAt, s.retention.ClosedComplaints)
	}
	if crm.Open(c.Status) {
		it.GSI4PK, it.GSI4SK = "CSLA", sortTime(c.SLADueAt)+"#"+c.ID
		// The next SLA threshold the reminder run has yet to act on.
		switch {
		case !c.SLABreachedAt.IsZero() || c.SLADueAt.IsZero():
		case c.SLAWarnedAt.IsZero() && !c.SLAWarnAt.IsZero():
			it.GSI8PK, it.GSI8SK = dueMark(crm.DueSLA, c.ID, c.SLAWarnAt)
		default:
			it.GSI8PK, it.GSI8SK = dueMark(crm.DueSLA, c.ID, c.SLADueAt)
		}
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal complaint %s: %w", c.ID, err)
	}
	sec := complaintSecrets{Subject: c.Subject, Description: c.Description, Resolution: c.Resolution, Contact: c.Contact}
	if err := s.seal(ctx, entityComplaint, item, &sec); err != nil {
		return nil, err
	}
	return item, nil
}

func (s *Table) fromComplaintItem(ctx context.Context, item map[string]types.AttributeValue) (crm.Complaint, error) {
	var it complaintItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Complaint{}, fmt.Errorf("unmarshal complaint: %w", err)
	}
	var sec complaintSecrets
	if err := s.open(ctx, entityComplaint, item, &sec); err != nil {
		return crm.Complaint{}, err
	}
	return crm.Complaint{
		ID: it.ID, CustomerID: it.CustomerID, CustomerOwnerID: it.CustomerOwnerID, Channel: it.Channel, Category: it.Category,
		Severity: it.Severity, Subject: sec.Subject, Description: sec.Description, Status: it.Status, AssigneeID: it.AssigneeID,
		FiledBy: it.FiledBy, CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC(), AcknowledgedAt: fromOpt(it.AcknowledgedAt),
		AckDueAt: it.AckDueAt.UTC(), SLADueAt: it.SLADueAt.UTC(), ResolvedAt: fromOpt(it.ResolvedAt), ClosedAt: fromOpt(it.ClosedAt),
		Resolution: sec.Resolution, EscalationLevel: it.EscalationLevel, Version: it.Version, TimelineLen: it.TimelineLen,
		SLAWarnAt: fromOpt(it.SLAWarnAt), SLAWarnedAt: fromOpt(it.SLAWarnedAt), SLABreachedAt: fromOpt(it.SLABreachedAt),
		ExternalRef: it.ExternalRef, Contact: sec.Contact,
	}, nil
}

// timelineItem is one step of a complaint's history; its note is sealed.
type timelineItem struct {
	PK         string    `dynamodbav:"PK"`
	SK         string    `dynamodbav:"SK"`
	Type       string    `dynamodbav:"type"`
	Seq        int       `dynamodbav:"seq"`
	At         time.Time `dynamodbav:"at"`
	ActorID    string    `dynamodbav:"actorId"`
	Action     string    `dynamodbav:"action"`
	From       string    `dynamodbav:"from,omitempty"`
	To         string    `dynamodbav:"to,omitempty"`
	Severity   string    `dynamodbav:"severity,omitempty"`
	AssigneeID string    `dynamodbav:"assigneeId,omitempty"`
	Score      int       `dynamodbav:"score,omitempty"`
}

type timelineSecrets struct {
	Note string `json:"note"`
}

func (s *Table) timelinePut(ctx context.Context, complaintID string, e crm.TimelineEntry) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(timelineItem{
		PK: complaintPK(complaintID), SK: fmt.Sprintf("TL#%06d", e.Seq), Type: entityTimeline, Seq: e.Seq, At: e.At,
		ActorID: e.ActorID, Action: e.Action, From: e.From, To: e.To, Severity: e.Severity, AssigneeID: e.AssigneeID, Score: e.Score,
	})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal timeline entry: %w", err)
	}
	if err := s.seal(ctx, entityTimeline, item, &timelineSecrets{Note: e.Note}); err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}, nil
}

// CreateComplaint implements crm.ComplaintStore.
func (s *Complaints) CreateComplaint(ctx context.Context, c crm.Complaint, timeline []crm.TimelineEntry, notes []crm.Notification, a crm.Audit) error {
	item, err := s.toComplaintItem(ctx, c)
	if err != nil {
		return err
	}
	// The customer must still exist, not erased, as the complaint is filed.
	check := &types.ConditionCheck{TableName: &s.table, Key: itemKey(customerPK(c.CustomerID), skProfile),
		ConditionExpression: aws.String("attribute_exists(PK) AND #t = :customer"), ExpressionAttributeNames: map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":customer": &types.AttributeValueMemberS{Value: entityCustomer}}}
	if c.CustomerID == "" {
		// An unlinked intake writes as much as a linked one, so its
		// latency does not tell the caller the contact matched no one.
		check = &types.ConditionCheck{TableName: &s.table, Key: itemKey(customerPK(crm.UnmatchedCustomer), skProfile),
			ConditionExpression: aws.String("attribute_not_exists(PK)")}
	}
	ops := []types.TransactWriteItem{
		{ConditionCheck: check},
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}
	for _, e := range timeline {
		op, err := s.timelinePut(ctx, c.ID, e)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	for _, n := range notes {
		ops = append(ops, s.notificationPut(n))
	}
	err = s.writeAudited(ctx, a, ops)
	if _, ok := asCanceled(err); ok {
		return crm.Errorf(crm.ENOTFOUND, "customer %s not found", c.CustomerID)
	}
	return wrap(err, "create complaint "+c.ID)
}

// GetComplaint implements crm.ComplaintStore.
func (s *Complaints) GetComplaint(ctx context.Context, id string) (crm.Complaint, error) {
	if !validID(id) {
		return crm.Complaint{}, crm.Errorf(crm.ENOTFOUND, "complaint not found")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(complaintPK(id), skComplaint), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Complaint{}, wrap(err, "get complaint "+id)
	}
	if out.Item == nil || s.expired(out.Item) {
		return crm.Complaint{}, crm.Errorf(crm.ENOTFOUND, "complaint %s not found", id)
	}
	return s.fromComplaintItem(ctx, out.Item)
}

// ComplaintTimeline implements crm.ComplaintStore.
func (s *Complaints) ComplaintTimeline(ctx context.Context, id string) ([]crm.TimelineEntry, error) {
	var out []crm.TimelineEntry
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :tl)"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: complaintPK(id)}, ":tl": &types.AttributeValueMemberS{Value: "TL#"},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "query timeline "+id)
		}
		for _, item := range page.Items {
			var it timelineItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("unmarshal timeline entry: %w", err)
			}
			var sec timelineSecrets
			if err := s.open(ctx, entityTimeline, item, &sec); err != nil {
				return nil, err
			}
			out = append(out, crm.TimelineEntry{Seq: it.Seq, At: it.At.UTC(), ActorID: it.ActorID, Action: it.Action,
				From: it.From, To: it.To, Note: sec.Note, Severity: it.Severity, AssigneeID: it.AssigneeID, Score: it.Score})
		}
	}
	return out, nil
}

// UpdateComplaint implements crm.ComplaintStore: the new state, its timeline
// entry and its notifications commit together, conditioned on the version
// the change was decided on, so of two concurrent transitions one wins.
func (s *Complaints) UpdateComplaint(ctx context.Context, prev, next crm.Complaint, entry crm.TimelineEntry, notes []crm.Notification, a crm.Audit) error {
	return s.updateComplaint(ctx, prev, next, entry, notes, a)
}

// updateComplaint is UpdateComplaint with further operations of the same
// change (a survey's record) in the transaction, before the complaint's.
func (s *Table) updateComplaint(ctx context.Context, prev, next crm.Complaint, entry crm.TimelineEntry, notes []crm.Notification, a crm.Audit, extra ...types.TransactWriteItem) error {
	item, err := s.toComplaintItem(ctx, next)
	if err != nil {
		return err
	}
	tl, err := s.timelinePut(ctx, next.ID, entry)
	if err != nil {
		return err
	}
	ops := append(extra,
		types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev.Version, 10)}}}},
		tl,
	)
	for _, n := range notes {
		ops = append(ops, s.notificationPut(n))
	}
	err = s.writeAudited(ctx, a, ops)
	if tce, ok := asCanceled(err); ok {
		for i := range extra {
			if i < len(tce.CancellationReasons) && aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed" {
				return crm.Errorf(crm.ECONFLICT, "complaint %s: the change was made before", prev.ID)
			}
		}
		return crm.Errorf(crm.EPRECONDITION, "complaint %s was changed by someone else", prev.ID)
	}
	if err != nil {
		return wrap(err, "update complaint "+prev.ID)
	}
	if prev.Status == crm.StatusClosed || next.Status == crm.StatusClosed {
		// The timeline leaves with its complaint, or stays when it reopens.
		return s.setTimelineExpiry(ctx, next.ID, expiry(next.ClosedAt, s.retention.ClosedComplaints))
	}
	return nil
}

// complaintSource picks the most selective index for a filter.
func complaintSource(f crm.ComplaintFilter) source {
	switch {
	case f.CustomerID != "":
		return indexSource(IndexBySubject, "GSI5PK", "GSI5SK", "CCUST#"+f.CustomerID)
	case f.Unlinked:
		return indexSource(IndexBySubject, "GSI5PK", "GSI5SK", unlinkedPK)
	case f.AssigneeID != "":
		return indexSource(IndexByOwner, "GSI1PK", "GSI1SK", "ASSIGNEE#"+f.AssigneeID)
	case f.Breached:
		src := indexSource(IndexByDue, "GSI4PK", "GSI4SK", "CSLA")
		src.skBelow, src.ascending = sortTime(f.AsOf)+"#", true
		return src
	case f.Status != "":
		return indexSource(IndexByGroup, "GSI2PK", "GSI2SK", "CSTATUS#"+f.Status)
	case f.Severity != "":
		return indexSource(IndexBySeverity, "GSI6PK", "GSI6SK", "CSEV#"+f.Severity)
	case f.OwnerID != "":
		return indexSource(IndexByScope, "GSI7PK", "GSI7SK", "COWNER#"+f.OwnerID)
	}
	return indexSource(IndexByKind, "GSI3PK", "GSI3SK", "COMPLAINT")
}

// ListComplaints implements crm.ComplaintStore. The breach list reads only
// open complaints past their SLA, oldest first; resolved-late complaints
// count in reports, not in this working list.
func (s *Complaints) ListComplaints(ctx context.Context, f crm.ComplaintFilter, p crm.Page) ([]crm.Complaint, string, error) {
	src := complaintSource(f)
	fp := fmt.Sprintf("complaints|%s|%s|%s|%s|%t|%s|%t|%s", f.Status, f.AssigneeID, f.CustomerID, f.Severity, f.Breached, f.OwnerID, f.Unlinked, f.FiledBy)
	return paginate(ctx, s.Table, src, p, fp, func(ctx context.Context, items []map[string]types.AttributeValue) ([]*crm.Complaint, error) {
		out := make([]*crm.Complaint, len(items))
		for i, item := range items {
			if s.expired(item) {
				continue
			}
			c, err := s.fromComplaintItem(ctx, item)
			if err != nil {
				return nil, err
			}
			if f.Match(c) {
				out[i] = &c
			}
		}
		return out, nil
	})
}

// NextInRotation implements crm.ComplaintStore with an atomic counter.
func (s *Complaints) NextInRotation(ctx context.Context, name string) (int64, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey("COUNTER#"+name, "COUNTER"),
		UpdateExpression:          aws.String("ADD n :one SET #t = :type"),
		ExpressionAttributeNames:  map[string]string{"#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":type": &types.AttributeValueMemberS{Value: "counter"}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, wrap(err, "advance counter "+name)
	}
	n, _ := out.Attributes["n"].(*types.AttributeValueMemberN)
	if n == nil {
		return 0, fmt.Errorf("counter %s returned no value", name)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

// setTimelineExpiry gives every timeline entry of a complaint the TTL of
// the complaint itself, or none.
func (s *Table) setTimelineExpiry(ctx context.Context, id string, exp *int64) error {
	entries, err := s.timelineKeys(ctx, id)
	if err != nil {
		return err
	}
	for _, key := range entries {
		in := &dynamodb.UpdateItemInput{TableName: &s.table, Key: key, UpdateExpression: aws.String("REMOVE expiresAt")}
		if exp != nil {
			in.UpdateExpression = aws.String("SET expiresAt = :e")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":e": &types.AttributeValueMemberN{Value: strconv.FormatInt(*exp, 10)}}
		}
		if _, err := s.db.UpdateItem(ctx, in); err != nil {
			return wrap(err, "set timeline expiry")
		}
	}
	return nil
}

// timelineKeys returns the keys of a complaint's timeline entries.
func (s *Table) timelineKeys(ctx context.Context, id string) ([]map[string]types.AttributeValue, error) {
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :tl)"), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("PK, SK"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: complaintPK(id)}, ":tl": &types.AttributeValueMemberS{Value: "TL#"},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "query timeline "+id)
		}
		keys = append(keys, page.Items...)
	}
	return keys, nil
}
