package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// An unknown sender's contact; like all test data it must not reach a log.
const unknownEmail = "nobody.known@example.net"

// intake files a complaint as a machine client and returns the answer.
func intake(e *testenv.Env, token, key string, who map[string]any) testenv.Response {
	e.TB.Helper()
	body := map[string]any{"channel": "social", "category": "delivery", "severity": "high",
		"subject": "Parcel late", "description": secretDescription, "externalRef": "msg-" + key}
	for k, v := range who {
		body[k] = v
	}
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return e.Do(testenv.Request{Method: "POST", Path: "/complaints", Token: token, Body: body, Header: h})
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestMachineIntake(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites)) // billing is patched directly below
	alice, sam, root := e.Token("alice", "sales"), e.Token("sam", "service"), e.Token("root", "admin")
	cust := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw})
	writer := e.ClientToken("shop", crm.ScopeComplaintsWrite, crm.ScopeComplaintsRead)
	reader := e.ClientToken("erp", crm.ScopeCustomersRead)

	t.Run("WithoutTheScope", func(t *testing.T) {
		if r := intake(e, reader, "", map[string]any{"customerId": cust}); r.Status != http.StatusForbidden {
			t.Fatalf("customers.read filing: status %d, want 403", r.Status)
		}
	})

	byID := intake(e, writer, "m-1", map[string]any{"customerId": cust})
	byPhone := intake(e, writer, "m-2", map[string]any{"customer": map[string]any{"phone": phoneE164}})
	byUnknown := intake(e, writer, "m-3", map[string]any{"customer": map[string]any{"email": unknownEmail}})
	var shapes [][]string
	for _, r := range []testenv.Response{byID, byPhone, byUnknown} {
		if r.Status != http.StatusCreated {
			t.Fatalf("intake: status %d", r.Status)
		}
		m := r.Map(t)
		if m["status"] != "acknowledged" || m["slaDueAt"] == nil || m["id"] == nil {
			t.Fatalf("intake answered without id, status or SLA: %v", keysOf(m))
		}
		for _, leak := range []string{"customerId", "assigneeId", "contact", "timeline"} {
			if _, ok := m[leak]; ok {
				t.Errorf("the intake answer shows %s", leak)
			}
		}
		shapes = append(shapes, keysOf(m))
	}
	if !slices.Equal(shapes[1], shapes[2]) || !slices.Equal(shapes[0], shapes[1]) {
		t.Fatalf("answers differ in shape: %v", shapes)
	}
	matched, unlinked := byPhone.Map(t)["id"].(string), byUnknown.Map(t)["id"].(string)

	// Staff see the match linked and assigned to the owner, the unknown
	// sender unlinked, in triage, with the contact.
	var c complaint
	get(e, root, "/complaints/"+matched).JSON(t, &c)
	if c.CustomerID != cust || c.AssigneeID != "alice" {
		t.Fatalf("matched complaint: customer %q assignee %q", c.CustomerID, c.AssigneeID)
	}
	var u struct {
		complaint
		Contact     *crm.ContactRef
		ExternalRef string
		FiledBy     string
	}
	get(e, sam, "/complaints/"+unlinked).JSON(t, &u)
	if u.CustomerID != "" || u.Contact == nil || u.Contact.Email != unknownEmail || u.AssigneeID != crm.DefaultTriageAssignee ||
		u.ExternalRef != "msg-m-3" || u.FiledBy != "client:shop" || u.Status != "acknowledged" || u.SLADueAt.IsZero() {
		t.Fatalf("unlinked complaint: customer %q assignee %q ref %q filedBy %q contact set %t", u.CustomerID, u.AssigneeID, u.ExternalRef, u.FiledBy, u.Contact != nil)
	}
	triage := func() []string {
		t.Helper()
		r := get(e, sam, "/complaints?unlinked=true")
		if r.Status != http.StatusOK {
			t.Fatalf("triage list: status %d", r.Status)
		}
		var l struct{ Items []complaint }
		r.JSON(t, &l)
		var ids []string
		for _, c := range l.Items {
			ids = append(ids, c.ID)
		}
		return ids
	}
	if ids := triage(); !slices.Equal(ids, []string{unlinked}) {
		t.Fatalf("triage list %v, want only %s", ids, unlinked)
	}
	for name, tok := range map[string]string{"sales": alice, "machine client": writer} {
		if r := get(e, tok, "/complaints?unlinked=true"); r.Status != http.StatusForbidden {
			t.Errorf("triage list as %s: status %d, want 403", name, r.Status)
		}
	}
	// Before it is linked, the customer's owner does not see it.
	if r := get(e, alice, "/complaints/"+unlinked); r.Status != http.StatusNotFound {
		t.Fatalf("owner reads an unlinked complaint: status %d, want 404", r.Status)
	}

	t.Run("Link", func(t *testing.T) {
		if r := post(e, alice, "/complaints/"+unlinked+"/link", map[string]any{"customerId": cust}); r.Status != http.StatusForbidden {
			t.Fatalf("sales links: status %d, want 403", r.Status)
		}
		if r := post(e, sam, "/complaints/"+unlinked+"/link", map[string]any{"customerId": "c_nobody"}); r.Status != http.StatusNotFound {
			t.Fatalf("link to an unknown customer: status %d, want 404", r.Status)
		}
		r := post(e, sam, "/complaints/"+unlinked+"/link", map[string]any{"customerId": cust})
		if r.Status != http.StatusOK {
			t.Fatalf("link: status %d", r.Status)
		}
		if m := r.Map(t); m["customerId"] != cust || m["contact"] != nil || m["assigneeId"] != "alice" {
			t.Fatalf("linked: customer %v assignee %v contact kept %t", m["customerId"], m["assigneeId"], m["contact"] != nil)
		}
		if r := post(e, sam, "/complaints/"+unlinked+"/link", map[string]any{"customerId": cust}); r.Status != http.StatusConflict {
			t.Fatalf("link again: status %d, want 409", r.Status)
		}
		if ids := triage(); len(ids) != 0 {
			t.Fatalf("triage list after linking: %v", ids)
		}
		// It now follows the customer's scope: the owner reads it, with
		// the agent's link on its timeline.
		var got complaint
		r = get(e, alice, "/complaints/"+unlinked)
		if r.Status != http.StatusOK {
			t.Fatalf("owner reads the linked complaint: status %d", r.Status)
		}
		r.JSON(t, &got)
		last := got.Timeline[len(got.Timeline)-1]
		if last.Action != crm.ActionLinked || last.ActorID != "sam" {
			t.Fatalf("last timeline entry %s by %s, want linked by sam", last.Action, last.ActorID)
		}
	})

	t.Run("Redelivery", func(t *testing.T) {
		again := intake(e, writer, "m-3", map[string]any{"customer": map[string]any{"email": unknownEmail}})
		if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || again.Map(t)["id"] != unlinked {
			t.Fatalf("redelivery: status %d replayed %q", again.Status, again.Header.Get("Idempotent-Replayed"))
		}
		var l struct{ Items []map[string]any }
		r := get(e, writer, "/complaints")
		if r.Status != http.StatusOK {
			t.Fatalf("client's list: status %d", r.Status)
		}
		r.JSON(t, &l)
		if len(l.Items) != 3 {
			t.Fatalf("the client filed %d complaints, want 3", len(l.Items))
		}
		for _, it := range l.Items {
			if _, ok := it["customerId"]; ok {
				t.Fatal("the client's list shows customerId")
			}
		}
	})

	t.Run("ScopeAndReach", func(t *testing.T) {
		staff := fileComplaint(e, alice, cust, "low")
		if r := get(e, writer, "/complaints/"+staff.ID); r.Status != http.StatusNotFound {
			t.Errorf("client reads a complaint it did not file: status %d, want 404", r.Status)
		}
		if r := get(e, writer, "/complaints/"+matched); r.Status != http.StatusOK {
			t.Errorf("client reads its own complaint: status %d", r.Status)
		}
		for _, p := range []string{"/complaints/" + matched + "/notes", "/complaints/" + matched + "/link"} {
			if r := post(e, writer, p, map[string]any{"note": "n"}); r.Status != http.StatusForbidden {
				t.Errorf("client posts %s: status %d, want 403", p, r.Status)
			}
		}
		if r := get(e, writer, "/customers/"+cust); r.Status != http.StatusForbidden {
			t.Errorf("complaints client reads a customer: status %d, want 403", r.Status)
		}
		if r := intake(e, writer, "", map[string]any{"customerId": cust, "customer": map[string]any{"email": unknownEmail}}); r.Status != http.StatusBadRequest {
			t.Errorf("both customerId and customer: status %d, want 400", r.Status)
		}
		staffBody := map[string]any{"customer": map[string]any{"email": emailNorm}, "channel": "phone", "category": "delivery",
			"severity": "low", "subject": "s", "description": "d"}
		if r := post(e, sam, "/complaints", staffBody); r.Status != http.StatusBadRequest || !slices.Contains(fieldsOf(t, r), "customer") {
			t.Errorf("staff naming the customer by contact: status %d, want 400 naming customer", r.Status)
		}
	})

	t.Run("CustomersAsServiceOrFinance", func(t *testing.T) {
		root := e.Token("root", "admin")
		if r := patch(e, root, "/customers/"+cust, "", map[string]any{"nationalId": nationalID, "billing": map[string]any{"bankAccount": bank}}); r.Status != http.StatusOK {
			t.Fatalf("patch: status %d", r.Status)
		}
		r := get(e, reader, "/customers/"+cust)
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), bank) || strings.Contains(string(r.Body), nationalID) {
			t.Fatalf("customers.read: status %d, billing or national ID shown", r.Status)
		}
		if !strings.Contains(string(r.Body), phoneE164) {
			t.Fatal("customers.read does not see the phone as service does")
		}
		billing := e.ClientToken("ledger", crm.ScopeBillingRead)
		if r := get(e, billing, "/customers/"+cust); r.Status != http.StatusOK || !strings.Contains(string(r.Body), bank) {
			t.Fatalf("billing.read: status %d, billing hidden", r.Status)
		}
	})

	t.Run("MachineActorInTheAudit", func(t *testing.T) {
		r := get(e, root, "/audit?entityId="+matched)
		if r.Status != http.StatusOK {
			t.Fatalf("audit: status %d", r.Status)
		}
		var l struct{ Items []crm.AuditEntry }
		r.JSON(t, &l)
		found := false
		for _, a := range l.Items {
			if a.Action == "complaint.create" {
				found = a.Actor == "client:shop" && slices.Contains(a.Roles, crm.ScopeComplaintsWrite)
			}
		}
		if !found {
			t.Fatalf("no complaint.create entry by client:shop under its scopes in %d entries", len(l.Items))
		}
		r = get(e, root, "/audit?entityId="+unlinked)
		r.JSON(t, &l)
		linked := false
		for _, a := range l.Items {
			linked = linked || a.Action == "complaint.link" && a.Actor == "sam" && slices.Contains(a.ChangedFields, "customerId")
		}
		if !linked {
			t.Fatal("the link is not audited")
		}
	})
	if strings.Contains(e.Logs.String(), unknownEmail) || strings.Contains(e.Logs.String(), phoneE164) {
		t.Fatal("a contact reached the logs")
	}
}

func TestMachineRateLimit(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.ClientRateLimit = 3 }))
	busy, quiet := e.ClientToken("busy", crm.ScopeComplaintsRead), e.ClientToken("quiet", crm.ScopeComplaintsRead)
	// A window may end mid-loop: then the budget restarts, and the 429
	// comes a few requests later.
	throttled := 0
	for i := 1; i <= 7 && throttled == 0; i++ {
		r := get(e, busy, "/complaints")
		switch {
		case r.Status == http.StatusTooManyRequests:
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			throttled = i
		case r.Status != http.StatusOK:
			t.Fatalf("request %d: status %d", i, r.Status)
		}
	}
	if throttled < 4 {
		t.Fatalf("throttled at request %d, want the fourth or later (budget 3 a minute)", throttled)
	}
	if r := get(e, quiet, "/complaints"); r.Status != http.StatusOK {
		t.Fatalf("another client: status %d, want 200", r.Status)
	}
	// Staff are not counted against any client's budget.
	if r := get(e, e.Token("sam", "service"), "/complaints"); r.Status != http.StatusOK {
		t.Fatalf("staff: status %d", r.Status)
	}
}
