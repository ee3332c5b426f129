package api

import (
	"slices"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestMachineActorFromClaims(t *testing.T) {
	machine := map[string]string{"sub": "shop", "client_id": "shop", "token_use": "access",
		"scope": "clientele/complaints.write openid other/thing clientele/customers.read"}
	a, err := ActorFromClaims(machine)
	if err != nil {
		t.Fatal(err)
	}
	// Scopes of other resource servers are not this API's.
	if !a.Client || a.ID != "client:shop" || !slices.Equal(a.Scopes, []string{crm.ScopeCustomersRead, crm.ScopeComplaintsWrite}) ||
		!slices.Equal(a.Roles, []crm.Role{crm.RoleService}) {
		t.Fatalf("actor %+v", a)
	}

	// A user's access token names its client too, but its sub is the
	// user's: it is staff, with the user's groups.
	user := map[string]string{"sub": "3f1c", "client_id": "web", "token_use": "access", "username": "alice", "cognito:groups": "[sales]"}
	if a, err := ActorFromClaims(user); err != nil || a.Client || a.ID != "3f1c" || !a.Has(crm.RoleSales) {
		t.Fatalf("user access token read as %+v, %v", a, err)
	}
	// Groups on a token shaped like a machine's make it a user's: no
	// client may hold a role.
	grouped := map[string]string{"sub": "shop", "client_id": "shop", "token_use": "access", "cognito:groups": "[admin]"}
	if a, _ := ActorFromClaims(grouped); a.Client {
		t.Fatalf("a token with groups read as a machine client: %+v", a)
	}
	if _, err := ActorFromClaims(map[string]string{"sub": "x y", "client_id": "x y", "token_use": "access"}); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
		t.Fatalf("unreadable client id: %v", err)
	}
}

func TestRouteScopes(t *testing.T) {
	allowed := map[string][]string{}
	for _, rt := range Routes() {
		for _, s := range crm.Scopes {
			if rt.AllowsClient([]string{s}) {
				allowed[s] = append(allowed[s], rt.Key())
			}
		}
	}
	want := map[string][]string{
		crm.ScopeCustomersRead:   {"GET /customers", "GET /customers/{id}"},
		crm.ScopeBillingRead:     {"GET /customers", "GET /customers/{id}"},
		crm.ScopeComplaintsWrite: {"POST /complaints"},
		crm.ScopeComplaintsRead:  {"GET /complaints", "GET /complaints/{id}"},
	}
	for s, keys := range want {
		if !slices.Equal(allowed[s], keys) {
			t.Errorf("%s admits %v, want %v", s, allowed[s], keys)
		}
	}
}
