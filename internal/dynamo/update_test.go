package dynamo_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// profileReads counts the reads of customers' profile items.
type profileReads struct {
	dynamo.DB
	n *atomic.Int64
}

func (d profileReads) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if sk, ok := in.Key["SK"].(*types.AttributeValueMemberS); ok && sk.Value == "PROFILE" {
		d.n.Add(1)
	}
	return d.DB.GetItem(ctx, in, opts...)
}

// TestUpdateOfTheVersionReadReadsNothingMore: replacing the version a
// request read uses what that read noted (lookups held, chain head), not a
// second read; a note carried to another version is not trusted, and a
// version changed since the read fails the write, changing nothing.
func TestUpdateOfTheVersionReadReadsNothingMore(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	reads := &atomic.Int64{}
	table, err := dynamo.Open(ctx, e.StoreConfig(profileReads{e.DB, reads}))
	if err != nil {
		t.Fatal(err)
	}
	store := table.Customers()
	admin := crm.Actor{ID: "admin-1", Roles: []crm.Role{crm.RoleAdmin}}
	audit := func(action string) crm.Audit {
		return crm.NewAudit(ctx, admin, action, "customer", "c-upd", crm.FieldEmail)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := crm.Customer{ID: "c-upd", Name: "Update Test", Email: "first@example.com", OwnerID: "rep-1", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := store.CreateCustomer(ctx, c, false, audit("customer.create")); err != nil {
		t.Fatal(err)
	}
	prev, err := store.GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}

	reads.Store(0)
	next := prev
	next.Email, next.Version = "second@example.com", prev.Version+1
	if err := store.UpdateCustomer(ctx, prev, next, audit("customer.update")); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 0 {
		t.Fatalf("an update of the version read read the profile %d more times, want 0", n)
	}

	// next carries prev's note, for the version before it: it is read again.
	third := next
	third.Email, third.Version = "third@example.com", next.Version+1
	if err := store.UpdateCustomer(ctx, next, third, audit("customer.update")); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("an update from a version not read here read the profile %d times, want 1", n)
	}
	// The lookups moved as they should: the second address was released
	// (held by no one), the third is held by c-upd.
	if err := store.CreateCustomer(ctx, crm.Customer{ID: "c-other", Name: "Other", Email: "second@example.com", OwnerID: "rep-1",
		CreatedAt: now, UpdatedAt: now, Version: 1}, false, crm.NewAudit(ctx, admin, "customer.create", "customer", "c-other")); err != nil {
		t.Fatalf("the released address is still claimed: %v", err)
	}
	err = store.CreateCustomer(ctx, crm.Customer{ID: "c-third", Name: "Third", Email: "third@example.com", OwnerID: "rep-1",
		CreatedAt: now, UpdatedAt: now, Version: 1}, false, crm.NewAudit(ctx, admin, "customer.create", "customer", "c-third"))
	if crm.ErrorCode(err) != crm.ECONFLICT {
		t.Fatalf("creating a customer with the held address: %v, want a conflict", err)
	}

	// prev is two versions behind now: its note must not let it through.
	stale := prev
	stale.Name, stale.Version = "Stale Write", prev.Version+1
	if err := store.UpdateCustomer(ctx, prev, stale, audit("customer.update")); crm.ErrorCode(err) != crm.EPRECONDITION {
		t.Fatalf("an update of a version since replaced: %v, want a failed precondition", err)
	}
	got, err := store.GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || got.Email != "third@example.com" || got.Version != third.Version {
		t.Fatalf("after the refused write: name changed %v, email is the third %v, version %d want %d",
			got.Name != c.Name, got.Email == "third@example.com", got.Version, third.Version)
	}
}
