package gateway

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
)

// A machine client's access token passes the gateway, as Cognito's would
// pass the authorizer, only for a client the identity provider issued it
// to; the function then reads it as client:<id> with its scopes.
func TestMachineClientTokens(t *testing.T) {
	f := newFixture(t)
	tok, err := f.key.ClientToken("erp", []string{crm.ScopeCustomersRead}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.do(t, "GET", "/customers", tok); resp.StatusCode != 200 {
		t.Fatalf("registered client: status %d, want 200", resp.StatusCode)
	}
	f.mu.Lock()
	claims := f.last.RequestContext.Authorizer.JWT.Claims
	f.mu.Unlock()
	a, err := api.ActorFromClaims(claims)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Client || a.ID != "client:erp" || !a.HasScope(crm.ScopeCustomersRead) || a.HasScope(crm.ScopeComplaintsWrite) {
		t.Fatalf("actor %+v, want client:erp with customers.read only", a)
	}

	// The same claims for a client never issued a token: unknown to the
	// authorizer.
	forged := jwt.MapClaims{"iss": Issuer, "sub": "rogue", "client_id": "rogue", "token_use": "access", "scope": crm.ScopeCustomersRead,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	if resp := f.do(t, "GET", "/customers", sign(t, jwt.SigningMethodRS256, f.key.Private, f.key.KeyID, forged)); resp.StatusCode != 401 {
		t.Fatalf("unregistered client: status %d, want 401", resp.StatusCode)
	}
	if _, err := f.key.ClientToken("erp", []string{"clientele/everything"}, time.Now(), time.Hour); err == nil {
		t.Fatal("minted a token with an unknown scope")
	}
	if _, err := f.key.ClientToken("x admin", nil, time.Now(), time.Hour); err == nil {
		t.Fatal("minted a token for a client id with a space")
	}
}
