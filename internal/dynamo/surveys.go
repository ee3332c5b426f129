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

// Surveys stores satisfaction surveys. A survey is an item of its own,
// written when it is sent and again when it is answered, so both show on
// the table's stream: the report aggregates count them from there, and the
// events derived from the stream see the answer.
type Surveys struct {
	*Table
	Notifications
}

var _ crm.SurveyStore = (*Surveys)(nil)

// Surveys returns the survey store of t.
func (t *Table) Surveys() *Surveys { return &Surveys{t, Notifications{t}} }

const entitySurvey = "survey"

func surveyKey(id string) map[string]types.AttributeValue { return itemKey("SURVEY#"+id, "SURVEY") }

// surveyItem is a survey. It holds ids, the category and the score, never
// personal data: the comment is in the complaint's timeline, sealed.
type surveyItem struct {
	PK          string     `dynamodbav:"PK"`
	SK          string     `dynamodbav:"SK"`
	Type        string     `dynamodbav:"type"`
	ID          string     `dynamodbav:"id"`
	ComplaintID string     `dynamodbav:"complaintId"`
	CustomerID  string     `dynamodbav:"customerId"`
	Category    string     `dynamodbav:"category"`
	AssigneeID  string     `dynamodbav:"assigneeId"`
	Language    string     `dynamodbav:"language,omitempty"`
	ResolvedAt  time.Time  `dynamodbav:"resolvedAt"`
	SentAt      time.Time  `dynamodbav:"sentAt"`
	ValidUntil  time.Time  `dynamodbav:"validUntil"`
	AnsweredAt  *time.Time `dynamodbav:"answeredAt,omitempty"`
	Score       int        `dynamodbav:"score,omitempty"`
	// ExpiresAt keeps a survey as long as a closed complaint is kept:
	// the report counts it until then.
	ExpiresAt *int64 `dynamodbav:"expiresAt,omitempty"`
}

func (s *Table) surveyPut(sv crm.Survey, condition string) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(surveyItem{PK: "SURVEY#" + sv.ID, SK: "SURVEY", Type: entitySurvey, ID: sv.ID,
		ComplaintID: sv.ComplaintID, CustomerID: sv.CustomerID, Category: sv.Category, AssigneeID: sv.AssigneeID,
		Language: sv.Language, ResolvedAt: sv.ResolvedAt, SentAt: sv.SentAt, ValidUntil: sv.ExpiresAt,
		AnsweredAt: optTime(sv.AnsweredAt), Score: sv.Score, ExpiresAt: expiry(sv.SentAt, s.retention.ClosedComplaints)})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal survey: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String(condition)}}, nil
}

func fromSurveyItem(item map[string]types.AttributeValue) (crm.Survey, error) {
	var it surveyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return crm.Survey{}, fmt.Errorf("unmarshal survey: %w", err)
	}
	return crm.Survey{ID: it.ID, ComplaintID: it.ComplaintID, CustomerID: it.CustomerID, Category: it.Category,
		AssigneeID: it.AssigneeID, Language: it.Language, ResolvedAt: it.ResolvedAt.UTC(), SentAt: it.SentAt.UTC(),
		ExpiresAt: it.ValidUntil.UTC(), AnsweredAt: fromOpt(it.AnsweredAt), Score: it.Score}, nil
}

// ResolveWithSurvey implements crm.SurveyStore: the resolution and the
// survey it sends commit together, so a survey is sent for a resolution
// that happened, once.
func (s *Surveys) ResolveWithSurvey(ctx context.Context, prev, next crm.Complaint, entry crm.TimelineEntry, sv crm.Survey, notes []crm.Notification, a crm.Audit) error {
	put, err := s.surveyPut(sv, "attribute_not_exists(PK)")
	if err != nil {
		return err
	}
	err = s.updateComplaint(ctx, prev, next, entry, notes, a, put)
	if crm.ErrorCode(err) == crm.ECONFLICT {
		// The survey of this very resolution exists: the resolution was
		// recorded by a request that got there first.
		return crm.Errorf(crm.EPRECONDITION, "complaint %s was changed by someone else", prev.ID)
	}
	return err
}

// GetSurvey implements crm.SurveyStore.
func (s *Surveys) GetSurvey(ctx context.Context, id string) (crm.Survey, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: surveyKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Survey{}, wrap(err, "get survey")
	}
	if out.Item == nil || s.expired(out.Item) {
		return crm.Survey{}, crm.Errorf(crm.ENOTFOUND, "survey not found")
	}
	return fromSurveyItem(out.Item)
}

// AnswerSurvey implements crm.SurveyStore: the answer is recorded on the
// survey only if it has none yet, together with its timeline entry.
func (s *Surveys) AnswerSurvey(ctx context.Context, sv crm.Survey, prev, next crm.Complaint, entry crm.TimelineEntry, notes []crm.Notification, a crm.Audit) error {
	put, err := s.surveyPut(sv, "attribute_exists(PK) AND attribute_not_exists(answeredAt)")
	if err != nil {
		return err
	}
	return s.updateComplaint(ctx, prev, next, entry, notes, a, put)
}

// Allow implements crm.SurveyStore with the portal's limiter.
func (s *Surveys) Allow(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error) {
	return s.PortalLinks().Allow(ctx, key, max, window, now)
}
