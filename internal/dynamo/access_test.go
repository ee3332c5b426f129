package dynamo_test

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestConcurrentAccessCountsAreExact: a burst of concurrent counts for one
// user and day, grouped into fewer writes, adds up to exactly the number of
// counts, kept apart by kind and by user.
func TestConcurrentAccessCountsAreExact(t *testing.T) {
	e := testenv.New(t)
	log := e.Services.Table.AccessLog()
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 120 {
		user, kind := "root", crm.AccessSensitive
		switch {
		case i%6 == 0:
			user = "fay"
		case i%5 == 0:
			kind = crm.AccessRefused
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := log.CountAccess(ctx, user, at, kind); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	days, err := log.AccessDays(ctx, at, at)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]crm.AccessDay{}
	for _, d := range days {
		got[d.User] = d
	}
	// i%6==0: 20 for fay; of the other 100, i%5==0 and not i%6==0: 20 refused.
	if r := got["root"]; r.SensitiveReads != 80 || r.Refused != 20 {
		t.Errorf("root: %+v, want 80 sensitive reads and 20 refused", r)
	}
	if f := got["fay"]; f.SensitiveReads != 20 || f.Refused != 0 {
		t.Errorf("fay: %+v, want 20 sensitive reads", f)
	}
}

// replayingDB answers every PutItem by making it twice, as the SDK does
// when an attempt's answer is lost and it retries: the second finds the
// first's item.
type replayingDB struct{ dynamo.DB }

func (d replayingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := d.DB.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return d.DB.PutItem(ctx, in, opts...)
}

// TestSensitiveReadEntrySurvivesARetriedPut: when the put of a read's
// audit entry landed but its answer was lost, the retry's failed condition
// is this very entry, so the read is on record and succeeds (it was a 500).
func TestSensitiveReadEntrySurvivesARetriedPut(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	table, err := dynamo.Open(ctx, e.StoreConfig(replayingDB{e.DB}))
	if err != nil {
		t.Fatal(err)
	}
	root := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	read := crm.NewAudit(ctx, root, "customer.read_sensitive", "customer", "c-1", crm.FieldBilling)
	if err := table.AuditLog().AppendAudit(ctx, read); err != nil {
		t.Fatalf("a retried put of the read's own entry: %v", err)
	}
	l, _, err := table.AuditLog().ListAudit(ctx, crm.AuditFilter{EntityID: "c-1"}, crm.Page{Limit: 10})
	if err != nil || len(l) != 1 {
		t.Fatalf("entries of c-1: %d, %v; want exactly 1", len(l), err)
	}
}

// legacyCount puts an access count item where versions before the counts
// moved kept it: in the main table.
func legacyCount(t *testing.T, e *testenv.Env, user, day string, counts map[string]int) {
	t.Helper()
	item := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ACCESS#" + user}, "SK": &types.AttributeValueMemberS{Value: "DAY#" + day},
		"type": &types.AttributeValueMemberS{Value: "access"}, "user": &types.AttributeValueMemberS{Value: user},
		"day": &types.AttributeValueMemberS{Value: day}, "GSI3PK": &types.AttributeValueMemberS{Value: "ACCESSDAY#" + day},
		"GSI3SK": &types.AttributeValueMemberS{Value: user}, "expiresAt": &types.AttributeValueMemberN{Value: "4102444800"},
	}
	for kind, n := range counts {
		item[kind] = &types.AttributeValueMemberN{Value: strconv.Itoa(n)}
	}
	if _, err := e.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &e.Config.Table, Item: item}); err != nil {
		t.Fatal(err)
	}
}

// countingInMove is a DB whose first transaction moving pk's legacy count
// is preceded by one more count on that item, as a function of the
// previous version still running during the upgrade would add.
type countingInMove struct {
	dynamo.DB
	table, pk string
	once      sync.Once
}

func (d *countingInMove) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	del := in.TransactItems[len(in.TransactItems)-1].Delete
	if del == nil || del.Key["PK"].(*types.AttributeValueMemberS).Value != d.pk {
		return d.DB.TransactWriteItems(ctx, in, opts...)
	}
	d.once.Do(func() {
		_, _ = d.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &d.table, Key: del.Key,
			UpdateExpression:          aws.String("ADD #k :one"),
			ExpressionAttributeNames:  map[string]string{"#k": crm.AccessRefused},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}})
	})
	return d.DB.TransactWriteItems(ctx, in, opts...)
}

// TestRebuildMovesLegacyAccessCounts: counts an earlier version kept in the
// main table are added, by a rebuild, to those counted since in the audit
// table, and leave the main table; a count added to one while it is moved
// is moved too; a second rebuild moves nothing and counts nothing twice.
func TestRebuildMovesLegacyAccessCounts(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	legacyCount(t, e, "root", "2026-11-02", map[string]int{crm.AccessSensitive: 7, crm.AccessRefused: 2})
	legacyCount(t, e, "fay", "2026-11-02", map[string]int{crm.AccessProbe: 3})
	log := e.Services.Table.AccessLog()
	for range 4 { // counted since the upgrade, in the audit table
		if err := log.CountAccess(ctx, "root", day, crm.AccessSensitive); err != nil {
			t.Fatal(err)
		}
	}
	store, err := dynamo.Open(ctx, e.StoreConfig(&countingInMove{DB: e.DB, table: e.Config.Table, pk: "ACCESS#root"}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]crm.AccessDay{
		"root": {User: "root", Day: "2026-11-02", SensitiveReads: 11, Refused: 3},
		"fay":  {User: "fay", Day: "2026-11-02", Probes: 3},
	}
	for run := 1; run <= 2; run++ {
		if _, err := store.Aggregates().Rebuild(ctx, e.Config.Policy, true, nil); err != nil {
			t.Fatalf("rebuild %d: %v", run, err)
		}
		days, err := store.AccessLog().AccessDays(ctx, day, day)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]crm.AccessDay{}
		for _, d := range days {
			got[d.User] = d
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after rebuild %d: %+v, want %+v", run, got, want)
		}
		out, err := e.DB.Query(ctx, &dynamodb.QueryInput{TableName: &e.Config.Table, IndexName: aws.String(dynamo.IndexByKind),
			KeyConditionExpression:    aws.String("GSI3PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "ACCESSDAY#2026-11-02"}}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Count != 0 {
			t.Errorf("after rebuild %d: %d access counts left in the main table", run, out.Count)
		}
	}
}
