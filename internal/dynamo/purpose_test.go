package dynamo_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// recordingKeyring records the encryption context of every call.
type recordingKeyring struct {
	envelope.Keyring
	mu       sync.Mutex
	contexts []map[string]string
}

func (r *recordingKeyring) GenerateDataKey(ctx context.Context, encCtx map[string]string) ([]byte, []byte, error) {
	r.mu.Lock()
	r.contexts = append(r.contexts, maps.Clone(encCtx))
	r.mu.Unlock()
	return r.Keyring.GenerateDataKey(ctx, encCtx)
}

func (r *recordingKeyring) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	r.mu.Lock()
	r.contexts = append(r.contexts, maps.Clone(encCtx))
	r.mu.Unlock()
	return r.Keyring.Decrypt(ctx, wrapped, encCtx)
}

// TestEncryptionContextNamesPurpose: every data key the store asks for is
// bound to a purpose, customer fields and complaint text each to their own,
// so that grants conditioned on the purpose separate them.
func TestEncryptionContextNamesPurpose(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	kr := &recordingKeyring{Keyring: e.Keyring}
	cfg := e.StoreConfig(e.DB)
	cfg.Keyring, cfg.Cache = kr, envelope.Options{Disabled: true}
	store, err := dynamo.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := &crm.Customers{Store: store.Customers(), Complaints: store.Complaints(), Audit: store.AuditLog(), Policy: e.Config.Policy,
		Now: e.Services.API.Customers.Now, NewID: e.Services.API.Customers.NewID}
	alice := crm.Actor{ID: "alice", Roles: []crm.Role{crm.RoleSales}}
	c, err := svc.Create(ctx, alice, crm.CustomerInput{Name: "Ada Example", Email: "ada@example.org", Phone: "+14155550100"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, alice, c.ID); err != nil {
		t.Fatal(err)
	}
	purposes := map[string]string{}
	for _, cx := range kr.contexts {
		if cx["purpose"] == "" {
			t.Errorf("keyring called with context %v, which names no purpose", cx)
		}
		if !slices.Contains(dynamo.Purposes(), cx["purpose"]) {
			t.Errorf("context %v names an unknown purpose", cx)
		}
		purposes[cx["entity"]] = cx["purpose"]
	}
	if got := purposes["customer"]; got != dynamo.PurposeCustomerFields {
		t.Errorf("customer fields sealed for purpose %q, want %q", got, dynamo.PurposeCustomerFields)
	}
}

// TestItemsSealedBeforePurposesStillOpen: a customer and a complaint
// sealed under the old context {table, entity}, by the key that wrapped
// envelopes then, open after the change, through a store whose own
// keyring could not unwrap them.
func TestItemsSealedBeforePurposesStillOpen(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	d := e.Services.API
	alice := crm.Actor{ID: "alice", Roles: []crm.Role{crm.RoleSales}}
	agent := crm.Actor{ID: "sam", Roles: []crm.Role{crm.RoleService}}
	c, err := d.Customers.Create(ctx, alice, crm.CustomerInput{Name: "Ada Example", Email: "ada@example.org", Phone: "+14155550100", NationalID: "110101199003074514"}, false)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := d.Complaints.File(ctx, agent, crm.ComplaintInput{CustomerID: c.ID, Channel: "phone", Category: "billing",
		Severity: "low", Subject: "Charged twice", Description: "Two debits on one day"})
	if err != nil {
		t.Fatal(err)
	}
	legacyKR, err := envelope.OpenLocalKeyring(t.TempDir() + "/legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Services.Table.ResealLegacy(ctx, legacyKR, "CUST#"+c.ID, "PROFILE", "customer"); err != nil {
		t.Fatal(err)
	}
	if err := e.Services.Table.ResealLegacy(ctx, legacyKR, "COMP#"+comp.ID, "COMPLAINT", "complaint"); err != nil {
		t.Fatal(err)
	}

	// Without the legacy keyring the old items do not open: the test
	// really reads what the old scheme wrote.
	plain, err := dynamo.Open(ctx, e.StoreConfig(e.DB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Customers().GetCustomer(ctx, c.ID); err == nil {
		t.Fatal("an item sealed under the legacy key opened without it")
	}

	cfg := e.StoreConfig(e.DB)
	cfg.LegacyKeyring = legacyKR
	store, err := dynamo.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Customers().GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != c.Email || got.Phone != c.Phone || got.NationalID != c.NationalID {
		t.Error("a customer sealed under the legacy context opened with other values")
	}
	gotComp, err := store.Complaints().GetComplaint(ctx, comp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gotComp.Description != comp.Description || gotComp.Subject != comp.Subject {
		t.Error("a complaint sealed under the legacy context opened with other values")
	}
}
