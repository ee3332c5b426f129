package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestBulkReassignment: filing a reassignment answers 202 at once; the
// stream consumer moves every customer of the departing rep, more than one
// page, each audited, and their complaints with them; progress reads the
// counts; delivering every record twice moves nothing twice.
func TestBulkReassignment(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	admin := e.Token("root", "admin")
	s := newStream(t, e)
	const n = 30
	var ids []string
	for i := range n {
		ids = append(ids, createCustomer(t, e, admin, map[string]any{"name": fmt.Sprintf("Customer %d", i), "email": fmt.Sprintf("c%d@example.com", i), "ownerId": "dora"}))
	}
	keep := createCustomer(t, e, admin, map[string]any{"name": "Kept", "email": "kept@example.com", "ownerId": "carol"})
	agent := crm.Actor{ID: "sam", Roles: []crm.Role{crm.RoleService}}
	comp, err := e.Services.API.Complaints.File(ctx, agent, crm.ComplaintInput{CustomerID: ids[0], Channel: "phone", Category: "billing",
		Severity: "low", Subject: "Charged twice", Description: "Two debits"})
	if err != nil {
		t.Fatal(err)
	}
	s.deliver(1)

	for _, c := range []struct {
		token string
		body  any
		want  int
	}{
		{e.Token("alice", "sales"), map[string]any{"to": "bob"}, http.StatusForbidden},
		{admin, map[string]any{}, http.StatusBadRequest},
		{admin, map[string]any{"to": "dora"}, http.StatusBadRequest},
		{admin, map[string]any{"to": "bob", "extra": 1}, http.StatusBadRequest},
	} {
		if r := e.Do(testenv.Request{Method: "POST", Path: "/owners/dora/reassign", Token: c.token, Body: c.body}); r.Status != c.want {
			t.Errorf("POST %v: %d, want %d: %s", c.body, r.Status, c.want, r.Body)
		}
	}
	if r := e.Do(testenv.Request{Method: "GET", Path: "/owners/dora/reassign", Token: admin}); r.Status != http.StatusNotFound {
		t.Errorf("progress before any job: %d", r.Status)
	}
	r := e.Do(testenv.Request{Method: "POST", Path: "/owners/dora/reassign", Token: admin, Body: map[string]any{"to": "bob"}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var job crm.ReassignJob
	r.JSON(t, &job)
	if job.Status != crm.ReassignQueued || job.Total != n || job.Moved != 0 || job.From != "dora" || job.To != "bob" {
		t.Errorf("filed job %+v", job)
	}
	if r := e.Do(testenv.Request{Method: "POST", Path: "/owners/dora/reassign", Token: admin, Body: map[string]any{"to": "carol"}}); r.Status != http.StatusConflict {
		t.Errorf("second job while the first runs: %d %s", r.Status, r.Body)
	}

	s.deliver(2)
	r = e.Do(testenv.Request{Method: "GET", Path: "/owners/dora/reassign", Token: admin})
	r.JSON(t, &job)
	if r.Status != http.StatusOK || job.Status != crm.ReassignDone || job.Moved != n || job.FinishedAt.IsZero() {
		t.Errorf("progress: %d %+v", r.Status, job)
	}
	bob := crm.Actor{ID: "bob", Roles: []crm.Role{crm.RoleSales}}
	dora := crm.Actor{ID: "dora", Roles: []crm.Role{crm.RoleSales}}
	for _, id := range ids {
		c, err := e.Services.API.Customers.Get(ctx, bob, id)
		if err != nil || c.OwnerID != "bob" {
			t.Fatalf("customer %s: owner %q (%v)", id, c.OwnerID, err)
		}
	}
	if c, err := e.Services.API.Customers.Get(ctx, crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}, keep); err != nil || c.OwnerID != "carol" {
		t.Errorf("another rep's customer: %q (%v)", c.OwnerID, err)
	}
	if cs, _, err := e.Services.API.Customers.List(ctx, dora, crm.CustomerFilter{}, crm.Page{Limit: 100}); err != nil || len(cs) != 0 {
		t.Errorf("the departing rep still lists %d customers (%v)", len(cs), err)
	}
	if cs, _, err := e.Services.API.Complaints.List(ctx, bob, crm.ComplaintFilter{}, crm.Page{Limit: 50}); err != nil || len(cs) != 1 || cs[0].ID != comp.ID {
		t.Errorf("the new owner lists complaints %+v (%v)", cs, err)
	}
	var audit struct {
		Items []crm.AuditEntry `json:"items"`
	}
	e.Do(testenv.Request{Method: "GET", Path: "/audit?entityId=" + ids[n-1], Token: admin}).JSON(t, &audit)
	moves := 0
	for _, a := range audit.Items {
		if a.Action == "customer.reassign" && a.Actor == "root" && len(a.ChangedFields) == 1 && a.ChangedFields[0] == crm.FieldOwnerID {
			moves++
		}
	}
	if moves != 1 {
		t.Errorf("%d reassignment entries in the customer's audit trail, want 1: %+v", moves, audit.Items)
	}

	// Done: a new job may be filed; with nothing left it finishes at once.
	r = e.Do(testenv.Request{Method: "POST", Path: "/owners/dora/reassign", Token: admin, Body: map[string]any{"to": "carol"}})
	r.JSON(t, &job)
	if r.Status != http.StatusAccepted || job.Total != 0 {
		t.Fatalf("again: %d %+v", r.Status, job)
	}
	s.deliver(1)
	e.Do(testenv.Request{Method: "GET", Path: "/owners/dora/reassign", Token: admin}).JSON(t, &job)
	if job.Status != crm.ReassignDone || job.Moved != 0 || job.To != "carol" {
		t.Errorf("empty job: %+v", job)
	}
}
