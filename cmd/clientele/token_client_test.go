package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/gateway"
)

// `make token CLIENT=<id> SCOPES="…"` mints what the client-credentials
// grant would: the gateway accepts it and the API reads the machine client.
func TestClientTokenIsAcceptedByTheGateway(t *testing.T) {
	state := t.TempDir()
	getenv := func(k string) string { return map[string]string{"CLIENTELE_STATE_DIR": state}[k] }
	var out, errOut bytes.Buffer
	args := []string{"token", "-client", "shop", "-scopes", "clientele/complaints.write clientele/complaints.read"}
	if err := run(context.Background(), args, app.EmptyIsUnset(getenv), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	key, err := gateway.LoadSigningKey(filepath.Join(state, "jwt-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := gateway.NewVerifier(key).Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.ActorFromClaims(gateway.StringifyClaims(claims))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "client:shop" || !a.Client || len(a.Scopes) != 2 || len(a.Roles) != 0 {
		t.Fatalf("actor %+v, want client:shop with two complaint scopes and no roles", a)
	}
	if err := run(context.Background(), []string{"token", "-client", "shop", "-scopes", "clientele/admin"}, app.EmptyIsUnset(getenv), &out, &errOut); err == nil {
		t.Fatal("an unknown scope was accepted")
	}
}
