package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// unprocessed answers BatchGetItem for only the first keep keys of each
// request (all of them when keep < 0), handing the rest back unprocessed,
// as DynamoDB does when it throttles a batch or its answer passes 16 MB.
type unprocessed struct {
	dynamo.DB
	keep  int
	calls *atomic.Int64
}

func (d unprocessed) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	d.calls.Add(1)
	now, later := map[string]types.KeysAndAttributes{}, map[string]types.KeysAndAttributes{}
	for table, ka := range in.RequestItems {
		n := min(max(d.keep, 0), len(ka.Keys))
		if n > 0 {
			now[table] = types.KeysAndAttributes{Keys: ka.Keys[:n], ConsistentRead: ka.ConsistentRead}
		}
		if n < len(ka.Keys) {
			later[table] = types.KeysAndAttributes{Keys: ka.Keys[n:], ConsistentRead: ka.ConsistentRead}
		}
	}
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	if len(now) > 0 {
		var err error
		if out, err = d.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: now}, opts...); err != nil {
			return nil, err
		}
	}
	out.UnprocessedKeys = later
	return out, nil
}

// TestListsFetchEveryItemThoughSomeAreLeftUnprocessed: a list through a
// keys-only index fetches its items by key, many to a request; the keys
// DynamoDB leaves unprocessed are asked for again until every item is
// found, and a table that never processes them is a 503, not a short page.
func TestListsFetchEveryItemThoughSomeAreLeftUnprocessed(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	admin := crm.Actor{ID: "admin-1", Roles: []crm.Role{crm.RoleAdmin}}
	now := time.Now().UTC().Truncate(time.Millisecond)
	want := map[string]bool{}
	for i := range 15 {
		c := crm.Customer{ID: fmt.Sprintf("c-batch-%02d", i), Name: fmt.Sprintf("Batch %02d", i), OwnerID: "rep-batch",
			CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := e.Services.Table.Customers().CreateCustomer(ctx, c, false, crm.NewAudit(ctx, admin, "customer.create", "customer", c.ID)); err != nil {
			t.Fatal(err)
		}
		want[c.ID] = true
	}

	calls := &atomic.Int64{}
	table, err := dynamo.Open(ctx, e.StoreConfig(unprocessed{DB: e.DB, keep: 4, calls: calls}))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := table.Customers().ListCustomers(ctx, crm.CustomerFilter{OwnerID: "rep-batch"}, crm.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if !want[c.ID] {
			t.Errorf("listed %s, not one of the owner's customers", c.ID)
		}
		delete(want, c.ID)
	}
	if len(want) > 0 {
		t.Errorf("%d of the owner's 15 customers missing from the list", len(want))
	}
	// 15 keys, 4 answered a request: at least 4 requests.
	if n := calls.Load(); n < 4 {
		t.Errorf("%d BatchGetItem requests; the unprocessed keys were not asked for again", n)
	}

	calls.Store(0)
	stuck, err := dynamo.Open(ctx, e.StoreConfig(unprocessed{DB: e.DB, keep: 0, calls: calls}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := stuck.Customers().ListCustomers(ctx, crm.CustomerFilter{OwnerID: "rep-batch"}, crm.Page{Limit: 50}); crm.ErrorCode(err) != crm.EUNAVAILABLE {
		t.Fatalf("a table that processes no key: %v, want %s", err, crm.EUNAVAILABLE)
	}
	if n := calls.Load(); n != 8 { // batchGetStalls
		t.Errorf("gave up after %d requests, want 8", n)
	}
}
