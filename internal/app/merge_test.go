package app_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestMergeClosesTheDuplicatePair: a merged pair is no longer an open
// likely duplicate and the rate follows; the undo reopens it.
func TestMergeClosesTheDuplicatePair(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.FourEyes.Kinds = nil }))
	admin := e.Token("root", "admin")
	s := newStream(t, e)
	li1 := createCustomer(t, e, admin, map[string]any{"name": "Li Wei", "company": "Acme Trading", "phone": "13800138000", "ownerId": "alice"})
	li2 := createCustomer(t, e, admin, map[string]any{"name": "LI wei", "company": "ACME trading", "phone": "13900139001", "ownerId": "bob"})
	createCustomer(t, e, admin, map[string]any{"name": "Mary Jones", "email": "mary@jones.example"})
	s.deliver(1)
	pairs := func() int {
		t.Helper()
		r := e.Do(testenv.Request{Method: "GET", Path: "/customers/duplicates", Token: admin})
		var l dupList
		r.JSON(t, &l)
		return len(l.Items)
	}
	rate := func() float64 {
		t.Helper()
		return e.Do(testenv.Request{Method: "GET", Path: "/reports/data-quality", Token: admin}).Map(t)["likelyDuplicateRate"].(float64)
	}
	if pairs() != 1 || rate() != 2.0/3 {
		t.Fatalf("before the merge: %d pairs, rate %v", pairs(), rate())
	}
	r := e.Do(testenv.Request{Method: "POST", Path: "/customers/" + li1 + "/merge", Token: admin, Body: map[string]any{"from": li2}})
	if r.Status != http.StatusOK {
		t.Fatalf("merge: %d %s", r.Status, r.Body)
	}
	mergeID := r.Map(t)["mergeId"].(string)
	s.deliver(2)
	if n, got := pairs(), rate(); n != 0 || got != 0 {
		t.Errorf("after the merge: %d pairs, rate %v; want none", n, got)
	}
	if r := e.Do(testenv.Request{Method: "POST", Path: "/merges/" + mergeID + "/undo", Token: admin}); r.Status != http.StatusOK {
		t.Fatalf("undo: %d %s", r.Status, r.Body)
	}
	s.deliver(2)
	if n, got := pairs(), rate(); n != 1 || got != 2.0/3 {
		t.Errorf("after the undo: %d pairs, rate %v; want the pair back", n, got)
	}
}

// crashingMoves is a merge store whose request never gets to move the
// children, as if the function died after the transaction.
type crashingMoves struct{ *dynamo.Customers }

func (crashingMoves) MoveMergedChildren(context.Context, crm.Merge) error {
	return errors.New("crashed")
}

// TestStreamFinishesAMerge: what a merge left behind is finished by the
// stream (complaints, reminders, consent records) and by a retry of the
// request (interactions, which need sealing anew), each moved once.
func TestStreamFinishesAMerge(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.FourEyes.Kinds = nil }))
	admin := e.Token("root", "admin")
	s := newStream(t, e)
	a := createCustomer(t, e, admin, map[string]any{"name": "Li Wei", "email": "a@corp.cn"})
	b := createCustomer(t, e, admin, map[string]any{"name": "Li Wei", "email": "b@corp.cn", "consent": map[string]any{"reminders": true, "marketing": false}})
	for _, day := range []string{"01", "02"} {
		if r := e.Do(testenv.Request{Method: "POST", Path: "/customers/" + b + "/interactions", Token: admin,
			Body: map[string]any{"kind": "note", "at": "2026-11-" + day + "T09:00:00Z", "summary": "note"}}); r.Status != http.StatusCreated {
			t.Fatalf("interaction: %d %s", r.Status, r.Body)
		}
	}
	s.deliver(1)
	m := &crm.Merges{Customers: e.Services.API.Customers, Store: crashingMoves{e.Services.Table.Customers()}, UndoTTL: time.Hour}
	actor := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	ctx := context.Background()
	if _, _, err := m.Merge(ctx, actor, a, crm.MergeInput{From: b}); err != nil {
		t.Fatal(err)
	}
	store := e.Services.Table.Customers()
	count := func(id string) (interactions, consents int) {
		t.Helper()
		items, _, err := store.ListInteractions(ctx, id, crm.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := store.ListConsents(ctx, id, crm.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return len(items), len(recs)
	}
	if i, c := count(b); i != 2 || c != 1 {
		t.Fatalf("before the stream the merged-away customer holds %d interactions, %d consent records", i, c)
	}
	s.deliver(2)
	if i, c := count(a); i != 0 || c != 1 {
		t.Errorf("after the stream the survivor holds %d interactions, %d consent records; want the consent record only", i, c)
	}
	// The retry is refused (it was merged), and finishes the move.
	r := e.Do(testenv.Request{Method: "POST", Path: "/customers/" + a + "/merge", Token: admin, Body: map[string]any{"from": b}})
	if r.Status != http.StatusConflict || r.Map(t)["mergedInto"] != a {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	if i, c := count(a); i != 2 || c != 1 {
		t.Errorf("after the retry the survivor holds %d interactions, %d consent records", i, c)
	}
	if i, c := count(b); i != 0 || c != 0 {
		t.Errorf("after the retry the merged-away customer holds %d interactions, %d consent records", i, c)
	}
}
