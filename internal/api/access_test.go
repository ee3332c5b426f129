package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestAccessReport: a rep probing other reps' customers by id and by
// contact, and poking at routes their role may not call, shows up in the
// access report per user and day, flagged past the threshold; each probe
// and refused duplicate is also in the audit trail.
func TestAccessReport(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.AccessThreshold = 5 }))
	admin, alice, mallory := e.Token("root", "admin"), e.Token("alice", "sales"), e.Token("mallory", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "billing": nil})
	for range 3 {
		if r := get(e, mallory, "/customers/"+id); r.Status != http.StatusNotFound {
			t.Fatalf("probe: %d", r.Status)
		}
	}
	if r := post(e, mallory, "/customers", map[string]any{"name": "X", "phone": phoneRaw}); r.Status != http.StatusConflict {
		t.Fatalf("duplicate probe: %d", r.Status)
	}
	for range 2 {
		if r := get(e, mallory, "/audit"); r.Status != http.StatusForbidden {
			t.Fatalf("refused: %d", r.Status)
		}
	}
	// Alice reads her own customer: nothing suspicious.
	if r := get(e, alice, "/customers/"+id); r.Status != http.StatusOK {
		t.Fatalf("own read: %d", r.Status)
	}
	// An admin reading the full national ID is a sensitive read.
	other := mustCreate(e, admin, map[string]any{"name": "Wang", "phone": "13900139000", "nationalId": nationalID})
	get(e, admin, "/customers/"+other)

	if r := get(e, alice, "/reports/access"); r.Status != http.StatusForbidden {
		t.Errorf("sales reading the access report: %d", r.Status)
	}
	var rep crm.AccessReport
	r := get(e, e.Token("aud", "auditor"), "/reports/access")
	if r.Status != http.StatusOK {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &rep)
	today := time.Now().UTC().Format(time.DateOnly)
	byUser := map[string]crm.AccessDay{}
	for _, d := range rep.Days {
		if d.Day == today {
			byUser[d.User] = d
		}
	}
	m := byUser["mallory"]
	if m.Probes != 3 || m.Duplicates != 1 || m.Refused != 2 || !m.Flagged {
		t.Errorf("mallory's day %+v, want 3 probes, 1 duplicate, 2 refused, flagged", m)
	}
	if a, ok := byUser["alice"]; ok && (a.Flagged || a.Suspicious() != 1) { // alice's own 403 above
		t.Errorf("alice's day %+v", a)
	}
	if byUser["root"].SensitiveReads < 1 {
		t.Errorf("the admin's sensitive read was not counted: %+v", byUser["root"])
	}
	if !slices.Equal(rep.Flagged, []string{"mallory"}) {
		t.Errorf("flagged %v", rep.Flagged)
	}
	// The probes are on record too.
	var l struct{ Items []crm.AuditEntry }
	get(e, admin, "/audit?actor=mallory").JSON(t, &l)
	outcomes := map[string]int{}
	for _, a := range l.Items {
		outcomes[a.Outcome]++
	}
	if outcomes[crm.OutcomeNotFound] != 3 || outcomes[crm.OutcomeConflict] != 1 {
		t.Errorf("mallory's audit outcomes %v", outcomes)
	}
	t.Run("ErrRangeTooLong", func(t *testing.T) {
		if r := get(e, admin, "/reports/access?from=2026-01-01&to=2026-12-31"); r.Status != http.StatusBadRequest {
			t.Errorf("status %d", r.Status)
		}
	})
}

// TestFinancePatchIsASensitiveRead: a PATCH answered with billing in full
// is on record as a sensitive read, whatever it changed: its own update
// entry names what it disclosed, and the read is counted for the access
// report.
func TestFinancePatchIsASensitiveRead(t *testing.T) {
	e := testenv.New(t)
	admin, finance := e.Token("root", "admin"), e.Token("fay", "finance")
	id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "billing": map[string]any{"bankAccount": bank}})
	if r := patch(e, finance, "/customers/"+id, "", map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	var l struct{ Items []crm.AuditEntry }
	get(e, admin, "/audit?actor=fay").JSON(t, &l)
	var updates, reads int
	for _, a := range l.Items {
		if a.Action == "customer.update" && slices.Contains(a.Disclosed, "billing") {
			updates++
		}
		if a.Action == "customer.read_sensitive" {
			reads++
		}
	}
	if updates != 1 || reads != 0 {
		t.Errorf("finance's PATCH showing billing: %d update entries disclosing billing and %d separate read entries, want 1 and 0: %+v", updates, reads, l.Items)
	}
	var rep crm.AccessReport
	get(e, admin, "/reports/access").JSON(t, &rep)
	var counted int64
	for _, d := range rep.Days {
		if d.User == "fay" {
			counted += d.SensitiveReads
		}
	}
	if counted != 1 {
		t.Errorf("finance's sensitive reads counted %d times, want 1", counted)
	}
}
