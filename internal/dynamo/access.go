package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// AccessLog keeps the per-user, per-day access counts of the access
// report: one item per user and day (PK ACCESS#<user>, SK DAY#<date>), so
// a user's counts never contend with another's, listed by day on GSI3
// (ACCESSDAY#<date> / <user>). They are kept for accessRetention.
type AccessLog struct{ *Table }

var _ crm.AccessStore = (*AccessLog)(nil)

// accessRetention is how long a day's access counts are kept.
const accessRetention = 400 * 24 * time.Hour

// AccessLog returns the access counts of t.
func (t *Table) AccessLog() *AccessLog { return &AccessLog{t} }

// CountAccess implements crm.AccessCounter with one ADD on the user's item
// of the day. Concurrent counts of the same user, day and kind in this
// process share one ADD (groupCommit): an admin's burst of reads costs a
// write per round trip, not per read, and each caller still returns only
// once its own count is written.
func (s *AccessLog) CountAccess(ctx context.Context, user string, at time.Time, kind string) error {
	day := at.UTC().Format(time.DateOnly)
	return s.counts.add(ctx, user+"\x00"+day+"\x00"+kind, func(ctx context.Context, n int64) error {
		return s.addAccess(ctx, user, day, kind, n, at.Add(accessRetention))
	})
}

// addAccess adds n to one kind of a user's counts of a day.
func (s *AccessLog) addAccess(ctx context.Context, user, day, kind string, n int64, expires time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                      itemKey("ACCESS#"+user, "DAY#"+day),
		UpdateExpression:         aws.String("ADD #k :n SET #t = :type, #u = :user, #d = :day, GSI3PK = :dpk, GSI3SK = :user, expiresAt = :exp"),
		ExpressionAttributeNames: map[string]string{"#k": kind, "#t": "type", "#u": "user", "#d": "day"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}, ":type": &types.AttributeValueMemberS{Value: "access"},
			":user": &types.AttributeValueMemberS{Value: user}, ":day": &types.AttributeValueMemberS{Value: day},
			":dpk": &types.AttributeValueMemberS{Value: "ACCESSDAY#" + day},
			":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)},
		}})
	return wrap(err, "count access")
}

// AccessDays implements crm.AccessStore: one Query per day.
func (s *AccessLog) AccessDays(ctx context.Context, from, to time.Time) ([]crm.AccessDay, error) {
	var out []crm.AccessDay
	for day := from.UTC(); !day.After(to); day = day.AddDate(0, 0, 1) {
		in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexByKind),
			KeyConditionExpression:    aws.String("GSI3PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "ACCESSDAY#" + day.Format(time.DateOnly)}}}
		err := eachPage(ctx, s.Table, in, func(item map[string]types.AttributeValue) (crm.AccessDay, bool, error) {
			return crm.AccessDay{User: attrString(item, "user"), Day: attrString(item, "day"), Refused: attrInt(item, crm.AccessRefused),
				Probes: attrInt(item, crm.AccessProbe), Duplicates: attrInt(item, crm.AccessDuplicate),
				SensitiveReads: attrInt(item, crm.AccessSensitive)}, true, nil
		}, func(days []crm.AccessDay) error {
			out = append(out, days...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func attrString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func attrInt(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}
