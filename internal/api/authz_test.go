package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// The generated authorization suite: every route of the route table, as
// every role and as nobody, against every kind of subject the route can
// name — the caller's own customer, another rep's, one reassigned away
// from the caller, an erased one — asserting the exact status, and that
// no response (body or headers) holds a canary value of a field the caller
// may not read in full. Its expectations are data: the route table's
// roles, the visibility policy (crm.CanSeeFull), and one request row per
// route below. A new route without a row fails the suite; a new kind of
// subject (merged-away, say) is a new column.

// canaries are planted in every sensitive field of every subject.
var canaries = map[string]string{
	crm.FieldPhone:      "+8613912340001",
	crm.FieldEmail:      "canary.bird@example.org",
	crm.FieldAddress:    "Canary Wharf 7",
	crm.FieldNationalID: "CANARY0987654321",
	crm.FieldBilling:    "CANARYBANK000111222",
}

// otherCanaries are planted in the subjects that are not the sales
// actor's own (another rep's, reassigned, erased), so that a list leaking
// one of those shows.
var otherCanaries = map[string]string{
	crm.FieldPhone:      "+8613912340002",
	crm.FieldEmail:      "other.canary@example.org",
	crm.FieldAddress:    "Canary Quay 9",
	crm.FieldNationalID: "CANARY1122334455",
	crm.FieldBilling:    "CANARYBANK999888777",
}

// complaintCanary is planted in every complaint's text, which every role
// that may read the complaint reads, and nobody else.
const complaintCanary = "CANARY complaint text"

// subject is what a request names.
type subject string

const (
	none       subject = "none"       // the route names no customer
	own        subject = "own"        // the sales actor's own customer
	other      subject = "other"      // another rep's customer
	reassigned subject = "reassigned" // was the sales actor's, now another rep's
	erased     subject = "erased"     // the sales actor's, erased
)

// authzRequest is how to call one route about one subject: path, body and
// the status a caller allowed and in scope gets.
type authzRequest struct {
	path   func(f *authzFixture, s subject) string
	body   any
	ok     int
	scoped bool // the route names a customer (or something of one)
	// goneOK is the status for an erased subject when it is not 410.
	goneOK int
}

// authzFixture holds, per subject, the ids the requests name.
type authzFixture struct {
	customer, complaint map[subject]string
}

func cust(suffix string) func(*authzFixture, subject) string {
	return func(f *authzFixture, s subject) string { return "/customers/" + f.customer[s] + suffix }
}

func fixed(p string) func(*authzFixture, subject) string {
	return func(*authzFixture, subject) string { return p }
}

// authzRequests has one row per route of the table.
var authzRequests = map[string]authzRequest{
	"GET /healthz":          {path: fixed("/healthz"), ok: 200},
	"GET /openapi.json":     {path: fixed("/openapi.json"), ok: 200},
	"POST /customers":       {path: fixed("/customers"), body: map[string]any{"name": "New", "company": "Acme"}, ok: 400},
	"GET /customers":        {path: fixed("/customers"), ok: 200},
	"GET /customers/{id}":   {path: cust(""), ok: 200, scoped: true},
	"PATCH /customers/{id}": {path: cust(""), body: map[string]any{}, ok: 200, scoped: true},
	// Erasure waits for a second admin (FOUR_EYES' default); erasing an
	// erased customer completes it at once.
	"DELETE /customers/{id}":              {path: cust(""), ok: 202, scoped: true, goneOK: 204},
	"GET /customers/{id}/export":          {path: cust("/export"), ok: 200, scoped: true},
	"POST /customers/{id}/verify":         {path: cust("/verify"), ok: 200, scoped: true},
	"POST /customers/{id}/lost":           {path: cust("/lost"), body: map[string]any{"reason": "price"}, ok: 200, scoped: true},
	"POST /customers/{id}/interactions":   {path: cust("/interactions"), body: map[string]any{"kind": "note", "at": "2026-01-02T03:04:05Z", "summary": "called"}, ok: 201, scoped: true},
	"GET /customers/{id}/interactions":    {path: cust("/interactions"), ok: 200, scoped: true},
	"POST /customers/import":              {path: fixed("/customers/import"), body: []any{map[string]any{"name": ""}}, ok: 200},
	"POST /customers/{id}/portal-links":   {path: cust("/portal-links"), ok: 201, scoped: true},
	"DELETE /customers/{id}/portal-links": {path: cust("/portal-links"), ok: 204, scoped: true},
	"GET /portal/{token}":                 {path: fixed("/portal/not-a-token"), ok: 404},
	"PUT /portal/{token}":                 {path: fixed("/portal/not-a-token"), body: map[string]any{}, ok: 404},
	"GET /audit":                          {path: fixed("/audit"), ok: 200},
	"GET /customers/duplicates":           {path: fixed("/customers/duplicates"), ok: 200},
	"POST /owners/{userId}/reassign":      {path: fixed("/owners/nobody/reassign"), body: map[string]any{"to": "bob"}, ok: 202},
	"GET /owners/{userId}/reassign":       {path: fixed("/owners/never-reassigned/reassign"), ok: 404},
	"GET /audit/verify":                   {path: fixed("/audit/verify"), ok: 200},
	"POST /complaints":                    {path: fixed("/complaints"), body: map[string]any{"customerId": "c_unknown", "channel": "phone", "category": "billing", "severity": "low", "subject": "s", "description": "d"}, ok: 404},
	"GET /complaints":                     {path: fixed("/complaints"), ok: 200},
	"GET /complaints/{id}":                {path: func(f *authzFixture, s subject) string { return "/complaints/" + f.complaint[s] }, ok: 200, scoped: true, goneOK: 200},
	"POST /complaints/{id}/transitions":   {path: func(f *authzFixture, s subject) string { return "/complaints/" + f.complaint[s] + "/transitions" }, body: map[string]any{"to": "closed", "note": "n"}, ok: 409, scoped: true, goneOK: 409},
	"POST /complaints/{id}/link":          {path: func(f *authzFixture, s subject) string { return "/complaints/" + f.complaint[s] + "/link" }, body: map[string]any{"customerId": "c_unknown"}, ok: 409, scoped: true, goneOK: 409},
	"POST /complaints/{id}/notes":         {path: func(f *authzFixture, s subject) string { return "/complaints/" + f.complaint[s] + "/notes" }, body: map[string]any{"note": "n"}, ok: 201, scoped: true, goneOK: 201},
	"GET /reminders":                      {path: fixed("/reminders"), ok: 200},
	"POST /reminders/{id}/done":           {path: fixed("/reminders/r_unknown/done"), ok: 404},
	"GET /reports/data-quality":           {path: fixed("/reports/data-quality"), ok: 200},
	"GET /reports/complaints":             {path: fixed("/reports/complaints"), ok: 200},
	"GET /reports/customers":              {path: fixed("/reports/customers"), ok: 200},
	"GET /reports/access":                 {path: fixed("/reports/access"), ok: 200},
	// Background import: a file of one invalid row is accepted; unknown
	// imports are not found.
	"POST /imports":          {path: fixed("/imports"), body: []any{map[string]any{"name": ""}}, ok: 202},
	"GET /imports/{id}":      {path: fixed("/imports/imp_unknown"), ok: 404},
	"GET /imports/{id}/rows": {path: fixed("/imports/imp_unknown/rows"), ok: 404},
	// Satisfaction surveys: public, the token is the credential.
	"GET /surveys/{token}":  {path: fixed("/surveys/not-a-token"), ok: 404},
	"POST /surveys/{token}": {path: fixed("/surveys/not-a-token"), body: map[string]any{"score": 3}, ok: 404},
	// Events and webhooks.
	"POST /webhooks":                    {path: fixed("/webhooks"), body: map[string]any{"url": "ftp://example.com/hook", "events": []string{"customer.created"}}, ok: 400},
	"GET /webhooks":                     {path: fixed("/webhooks"), ok: 200},
	"DELETE /webhooks/{id}":             {path: fixed("/webhooks/wh_unknown"), ok: 404},
	"POST /webhooks/{id}/rotate-secret": {path: fixed("/webhooks/wh_unknown/rotate-secret"), ok: 404},
	"POST /webhooks/{id}/enable":        {path: fixed("/webhooks/wh_unknown/enable"), ok: 404},
	"GET /webhooks/{id}/deliveries":     {path: fixed("/webhooks/wh_unknown/deliveries"), ok: 404},
	// Consent history and four-eyes approvals.
	"GET /customers/{id}/consents": {path: cust("/consents"), ok: 200, scoped: true},
	"GET /approvals":               {path: fixed("/approvals"), ok: 200},
	"POST /approvals/{id}/approve": {path: fixed("/approvals/ap_unknown/approve"), ok: 404},
	"POST /approvals/{id}/reject":  {path: fixed("/approvals/ap_unknown/reject"), ok: 404},
	// Customer merge: an unknown survivor, an unknown merge.
	"POST /customers/{id}/merge":  {path: fixed("/customers/c_unknown/merge"), body: map[string]any{"from": "c_unknown2"}, ok: 404},
	"POST /merges/{mergeId}/undo": {path: fixed("/merges/m_unknown/undo"), ok: 404},
}

// authzActors are the callers: "alice" is the sales rep whose scope the
// subjects are named from; the empty role is a caller without a token.
var authzActors = []crm.Role{crm.RoleAdmin, crm.RoleSales, crm.RoleService, crm.RoleFinance, crm.RoleAuditor, ""}

func TestAuthorizationSuite(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	// Each cell gets subjects of its own, so that a write (an erasure, a
	// revoked link) in one cell changes nothing another cell sees.
	fresh := func(t *testing.T) *authzFixture {
		f := &authzFixture{customer: map[subject]string{}, complaint: map[subject]string{}}
		f.customer[own], f.customer[other], f.customer[reassigned], f.customer[erased] = plantCanaries(t, e)
		if r := patch(e, admin, "/customers/"+f.customer[reassigned], "", map[string]any{"ownerId": "bob"}); r.Status != 200 {
			t.Fatalf("reassign: %d %s", r.Status, r.Body)
		}
		for _, s := range []subject{own, other, reassigned, erased} {
			r := post(e, admin, "/complaints", map[string]any{"customerId": f.customer[s], "channel": "phone", "category": "billing",
				"severity": "low", "subject": complaintCanary, "description": complaintCanary})
			if r.Status != http.StatusCreated {
				t.Fatalf("complaint: %d %s", r.Status, r.Body)
			}
			f.complaint[s] = r.Map(t)["id"].(string)
		}
		r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + f.customer[erased], Token: admin})
		if r.Status != http.StatusAccepted {
			t.Fatalf("erase: %d", r.Status)
		}
		if r := post(e, e.Token("root2", "admin"), "/approvals/"+r.Map(t)["approvalId"].(string)+"/approve", nil); r.Status != http.StatusNoContent {
			t.Fatalf("approve erasure: %d %s", r.Status, r.Body)
		}
		return f
	}
	cells := 0
	for _, rt := range api.Routes() {
		req, ok := authzRequests[rt.Key()]
		if !ok {
			t.Errorf("route %s has no row in the authorization suite", rt.Key())
			continue
		}
		subjects := []subject{none}
		if req.scoped {
			subjects = []subject{own, other, reassigned, erased}
		}
		t.Run(rt.Key(), func(t *testing.T) {
			f := fresh(t)
			for _, role := range authzActors {
				for _, s := range subjects {
					cells++
					want := expectStatus(rt, req, role, s)
					token := ""
					if role != "" {
						token = e.Token("alice", string(role))
					}
					r := e.Do(testenv.Request{Method: rt.Method, Path: req.path(f, s), Token: token, Body: req.body})
					if r.Status != want {
						t.Errorf("%s as %q on %s: status %d, want %d: %s", rt.Key(), role, s, r.Status, want, r.Body)
					}
					checkCanaries(t, rt, role, s, r)
				}
			}
			// Machine clients, one per scope set and route, so that no
			// client's rate limit is what a cell measures.
			for i, scopes := range authzClients {
				token := e.ClientToken(fmt.Sprintf("suite%d-%d", i, cells), scopes...)
				for _, s := range subjects {
					cells++
					want := expectClientStatus(rt, req, scopes, s)
					r := e.Do(testenv.Request{Method: rt.Method, Path: req.path(f, s), Token: token, Body: req.body})
					if r.Status != want {
						t.Errorf("%s as a client with %v on %s: status %d, want %d: %s", rt.Key(), scopes, s, r.Status, want, r.Body)
					}
					checkClientCanaries(t, rt, scopes, s, r)
				}
			}
		})
	}
	t.Logf("%d cells checked", cells)
}

// plantCanaries plants four customers holding the canaries, for the
// subjects own, other, reassigned (still alice's here) and erased.
func plantCanaries(t *testing.T, e *testenv.Env) (ownID, otherID, reassignedID, erasedID string) {
	t.Helper()
	// The canaries are shared; an allowed duplicate needs an admin, so
	// these go in with allowDuplicate.
	admin := e.Token("root", "admin")
	mk := func(owner string, c map[string]string) string {
		r := post(e, admin, "/customers?allowDuplicate=true", map[string]any{"name": "Canary", "ownerId": owner,
			"phone": c[crm.FieldPhone], "email": c[crm.FieldEmail], "nationalId": c[crm.FieldNationalID],
			"address": map[string]any{"line1": c[crm.FieldAddress], "country": "CN"},
			"billing": map[string]any{"bankAccount": c[crm.FieldBilling]}})
		if r.Status != http.StatusCreated {
			t.Fatalf("plant: %d %s", r.Status, r.Body)
		}
		return r.Map(t)["id"].(string)
	}
	return mk("alice", canaries), mk("bob", otherCanaries), mk("alice", otherCanaries), mk("alice", otherCanaries)
}

// expectStatus derives a cell's status from the route table and the
// scope rules.
func expectStatus(rt api.Route, req authzRequest, role crm.Role, s subject) int {
	switch {
	case rt.Public():
		return req.ok
	case role == "":
		return http.StatusUnauthorized
	case !slices.Contains(rt.Roles, role):
		return http.StatusForbidden
	}
	salesScope := role == crm.RoleSales
	complaintRoute := strings.HasPrefix(rt.Path, "/complaints/{id}")
	switch s {
	case other, reassigned:
		if salesScope {
			return http.StatusNotFound
		}
	case erased:
		if complaintRoute {
			if salesScope {
				return http.StatusNotFound // the complaint's customer is gone
			}
			return req.goneOK
		}
		if req.goneOK != 0 {
			return req.goneOK
		}
		return http.StatusGone
	}
	return req.ok
}

// checkCanaries fails the cell if the response holds a canary the caller
// may not read in full: any canary at all outside the caller's scope.
func checkCanaries(t *testing.T, rt api.Route, role crm.Role, s subject, r testenv.Response) {
	t.Helper()
	var text strings.Builder
	text.Write(r.Body)
	for k, vs := range r.Header {
		fmt.Fprintf(&text, "%s: %s\n", k, strings.Join(vs, ","))
	}
	inScope := role != "" && (role != crm.RoleSales || s == own || s == none)
	for field := range canaries {
		// What a subject holds is readable in full only in scope and only
		// where the role reads that field; an erased customer's by nobody;
		// and a sales rep's list never shows another rep's customer.
		ownVisible := inScope && s != erased && crm.CanSeeFull([]crm.Role{role}, field)
		otherVisible := ownVisible && s != none
		if role == "" || role != crm.RoleSales && s == none {
			otherVisible = ownVisible // lists of everyone may show both
		}
		if !ownVisible && strings.Contains(text.String(), canaries[field]) {
			t.Errorf("%s as %q on %s: the response holds the %s canary", rt.Key(), role, s, field)
		}
		if !otherVisible && strings.Contains(text.String(), otherCanaries[field]) {
			t.Errorf("%s as %q on %s: the response holds another customer's %s canary", rt.Key(), role, s, field)
		}
	}
	if (!inScope || s == erased) && strings.Contains(text.String(), complaintCanary) {
		t.Errorf("%s as %q on %s: the response holds a complaint's text", rt.Key(), role, s)
	}
}
