package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// authzClients are the machine callers of the authorization suite: each
// scope alone, all of them, and none.
var authzClients = [][]string{
	{crm.ScopeCustomersRead}, {crm.ScopeBillingRead}, {crm.ScopeComplaintsWrite}, {crm.ScopeComplaintsRead}, crm.Scopes, {},
}

// expectClientStatus derives a machine client's status from the route
// table's scopes: a route without one of the client's scopes is 403; on
// one it may call, it sees customers as service or finance (all of them,
// an erased one gone) and only the complaints it filed itself, none of
// the suite's.
func expectClientStatus(rt api.Route, req authzRequest, scopes []string, s subject) int {
	switch {
	case rt.Public():
		return req.ok
	case !rt.AllowsClient(scopes):
		return http.StatusForbidden
	case strings.HasPrefix(rt.Path, "/complaints/{id}"):
		return http.StatusNotFound
	case s == erased && req.goneOK != 0:
		return req.goneOK
	case s == erased:
		return http.StatusGone
	}
	return req.ok
}

// checkClientCanaries fails the cell if the response holds a canary the
// client's scopes do not let it read in full, or any complaint's text.
func checkClientCanaries(t *testing.T, rt api.Route, scopes []string, s subject, r testenv.Response) {
	t.Helper()
	var text strings.Builder
	text.Write(r.Body)
	for k, vs := range r.Header {
		fmt.Fprintf(&text, "%s: %s\n", k, strings.Join(vs, ","))
	}
	roles := crm.ClientActor("suite", scopes).Roles
	allowed := rt.AllowsClient(scopes)
	for field := range canaries {
		visible := allowed && s != erased && len(roles) > 0 && crm.CanSeeFull(roles, field)
		if !visible && strings.Contains(text.String(), canaries[field]) {
			t.Errorf("%s as a client with %v on %s: the response holds the %s canary", rt.Key(), scopes, s, field)
		}
		if !visible && strings.Contains(text.String(), otherCanaries[field]) {
			t.Errorf("%s as a client with %v on %s: the response holds another customer's %s canary", rt.Key(), scopes, s, field)
		}
	}
	if strings.Contains(text.String(), complaintCanary) {
		t.Errorf("%s as a client with %v on %s: the response holds a complaint's text", rt.Key(), scopes, s)
	}
}
