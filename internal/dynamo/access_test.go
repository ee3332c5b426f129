package dynamo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
