package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestAuditVerificationIsRecordedAndServed: before any verification the
// route says so; after one, it serves what the walk covered, and the latest
// of several.
func TestAuditVerificationIsRecordedAndServed(t *testing.T) {
	e := testenv.New(t)
	auditor, sales := e.Token("audrey", "auditor"), e.Token("alice", "sales")
	if r := e.Do(testenv.Request{Method: "GET", Path: "/audit/verify", Token: auditor}); r.Status != 200 || r.Map(t)["status"] != "never" {
		t.Fatalf("before any verification: %d %s", r.Status, r.Body)
	}
	if r := e.Do(testenv.Request{Method: "GET", Path: "/audit/verify", Token: sales}); r.Status != 403 {
		t.Errorf("sales: %d", r.Status)
	}
	for _, name := range []string{"Li Wei", "Wang Fang"} {
		if r := e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: sales, Body: map[string]any{"name": name, "company": "Acme", "email": name[:2] + "@example.com"}}); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	first := time.Now().Add(-time.Minute)
	if _, _, err := app.VerifyAudit(context.Background(), e.Services, first); err != nil {
		t.Fatal(err)
	}
	if r := e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: sales, Body: map[string]any{"name": "Zhao Lei", "email": "zl@example.com"}}); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	rep, _, err := app.VerifyAudit(context.Background(), e.Services, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := e.Do(testenv.Request{Method: "GET", Path: "/audit/verify", Token: auditor}).Map(t)
	if got["status"] != "intact" || got["entries"] != float64(rep.Entries) || rep.Entries < 3 || got["breaks"] != float64(0) {
		t.Errorf("latest verification %v, walk covered %d entries", got, rep.Entries)
	}
	at, _ := time.Parse(time.RFC3339, got["at"].(string))
	if !at.After(first) {
		t.Errorf("served the older verification (at %v)", at)
	}
}
