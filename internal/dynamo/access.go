package dynamo

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// AccessLog keeps the per-user, per-day access counts of the access
// report: one item per user and day (PK ACCESS#<user>, SK DAY#<date>), so
// a user's counts never contend with another's, listed by day on the
// audit table's ByDay index (ACCESSDAY#<date> / <user>). They are kept for
// accessRetention.
//
// They live in the audit table, beside the entries they count, and not in
// the main table: nothing consumes changes to them, and every write to the
// main table is also a stream record for the consumer to read and skip.
// The functions' only update right on the audit table is to these
// partitions (an IAM condition on the leading key, AccessKeyPrefix); its
// entries stay put-only. Counts written to the main table before are
// moved by MoveLegacyCounts.
type AccessLog struct{ *Table }

// AccessKeyPrefix begins the partition key of every access count item: the
// stack allows the functions to update the audit table's items under it,
// and no others.
const AccessKeyPrefix = "ACCESS#"

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
	u := accessUpdate(s.auditTable, user, day,
		map[string]types.AttributeValue{kind: &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}},
		&types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)})
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	return wrap(err, "count access")
}

// accessUpdate is the one write of a user's count item of a day: ADD the
// counts (by kind), and SET what lists it by day and, when expires is
// given, when it expires.
func accessUpdate(table, user, day string, counts map[string]types.AttributeValue, expires types.AttributeValue) *types.Update {
	names := map[string]string{"#t": "type", "#u": "user", "#d": "day"}
	values := map[string]types.AttributeValue{":type": &types.AttributeValueMemberS{Value: "access"},
		":user": &types.AttributeValueMemberS{Value: user}, ":day": &types.AttributeValueMemberS{Value: day},
		":dpk": &types.AttributeValueMemberS{Value: accessDayPK(day)}}
	expr := "SET #t = :type, #u = :user, #d = :day, GSI3PK = :dpk, GSI3SK = :user"
	if expires != nil {
		values[":exp"] = expires
		expr += ", " + attrTTL + " = :exp"
	}
	var add []string
	for i, kind := range sortedKeys(counts) {
		k, v := "#k"+strconv.Itoa(i), ":n"+strconv.Itoa(i)
		names[k], values[v] = kind, counts[kind]
		add = append(add, k+" "+v)
	}
	if len(add) > 0 {
		expr = "ADD " + strings.Join(add, ", ") + " " + expr
	}
	return &types.Update{TableName: &table, Key: itemKey(AccessKeyPrefix+user, "DAY#"+day), UpdateExpression: &expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values}
}

// accessDayPK is the ByDay partition listing every user counted on day.
func accessDayPK(day string) string { return "ACCESSDAY#" + day }

// AccessDays implements crm.AccessStore: one Query per day.
func (s *AccessLog) AccessDays(ctx context.Context, from, to time.Time) ([]crm.AccessDay, error) {
	var out []crm.AccessDay
	for day := from.UTC(); !day.After(to); day = day.AddDate(0, 0, 1) {
		in := &dynamodb.QueryInput{TableName: &s.auditTable, IndexName: aws.String(AuditByDay),
			KeyConditionExpression:    aws.String("GSI3PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: accessDayPK(day.Format(time.DateOnly))}}}
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

// accessKinds are the counters an access count item may hold.
var accessKinds = []string{crm.AccessRefused, crm.AccessProbe, crm.AccessDuplicate, crm.AccessSensitive}

// isAccessCount reports whether a main-table item is an access count
// written before the counts moved to the audit table.
func isAccessCount(pk string) bool { return strings.HasPrefix(pk, AccessKeyPrefix) }

// moveRetries bounds the re-reads of a count that changed while it was
// being moved (a function of the previous version still counting into it).
const moveRetries = 5

// MoveLegacyCounts moves access counts found in the main table (items as a
// scan read them) to the audit table, each in one transaction: its counts
// are added to the audit table's item of the same user and day, and it is
// deleted on condition that its counts are still the ones added. A count
// that changed in between is read again and moved as it is then, so no
// count is lost or added twice, and a second run finds nothing to move.
// It returns how many items it moved.
func (s *AccessLog) MoveLegacyCounts(ctx context.Context, items []map[string]types.AttributeValue) (int, error) {
	moved := 0
	for _, item := range items {
		for attempt := 1; item != nil; attempt++ {
			_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: moveCountOps(s.table, s.auditTable, item)})
			if err == nil {
				moved++
				break
			}
			// The count changed since it was read: it fails the delete's
			// condition, or, landing during the transaction, conflicts.
			if tce, ok := asCanceled(err); !ok || attempt == moveRetries || !slices.ContainsFunc(tce.CancellationReasons, func(r types.CancellationReason) bool {
				return aws.ToString(r.Code) == "ConditionalCheckFailed" || aws.ToString(r.Code) == "TransactionConflict"
			}) {
				return moved, wrap(err, "move access count")
			}
			out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
				Key: itemKey(attrString(item, attrPK), attrString(item, attrSK))})
			if err != nil {
				return moved, wrap(err, "read access count")
			}
			item = out.Item // nil: removed meanwhile, nothing left to move
		}
	}
	return moved, nil
}

// moveCountOps are the two writes that move one access count item from
// table to audit: add its counts to audit's item of the same key, and
// delete it if its counts are still those.
func moveCountOps(table, audit string, item map[string]types.AttributeValue) []types.TransactWriteItem {
	pk, sk := attrString(item, attrPK), attrString(item, attrSK)
	counts := map[string]types.AttributeValue{}
	// The delete's condition names every kind and uses only the counts
	// the item has: DynamoDB refuses unused expression values.
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	var unchanged []string
	for i, kind := range accessKinds {
		k, v := "#k"+strconv.Itoa(i), ":n"+strconv.Itoa(i)
		names[k] = kind
		n, ok := item[kind]
		if !ok {
			unchanged = append(unchanged, "attribute_not_exists("+k+")")
			continue
		}
		counts[kind], values[v] = n, n
		unchanged = append(unchanged, k+" = "+v)
	}
	if len(values) == 0 {
		values = nil
	}
	return []types.TransactWriteItem{
		{Update: accessUpdate(audit, strings.TrimPrefix(pk, AccessKeyPrefix), strings.TrimPrefix(sk, "DAY#"), counts, item[attrTTL])},
		{Delete: &types.Delete{TableName: &table, Key: itemKey(pk, sk), ConditionExpression: aws.String(strings.Join(unchanged, " AND ")),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
	}
}
