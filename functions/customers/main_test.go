package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// wantStatus is what each sample event must get from a fresh table. Every
// file in events/ for this function needs an entry, so a new sample is
// replayed and checked, never forgotten.
var wantStatus = map[string]int{
	"healthz.json":                               200,
	"openapi.json":                               200,
	"customers-create.json":                      201,
	"customers-create-invalid.json":              400,
	"customers-create-finance-forbidden.json":    403,
	"customers-list.json":                        200,
	"customers-list-no-claims.json":              401,
	"customers-get-unknown.json":                 404,
	"customers-patch-unknown.json":               404,
	"customers-verify-unknown.json":              404,
	"customers-interactions-create-unknown.json": 404,
	"customers-interactions-list-unknown.json":   404,
	"customers-import.json":                      200,
}

// TestSampleEvents replays every sample event through the real Lambda
// handler, as Lambda would call it, against DynamoDB Local.
func TestSampleEvents(t *testing.T) {
	e := testenv.New(t)
	h := api.NewHandler(e.Services.Deps, api.FnCustomers)
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	routes := map[string]string{}
	for _, rt := range api.Routes() {
		routes[rt.Key()] = rt.Function
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if routes[ev.RouteKey] != api.FnCustomers {
			continue
		}
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			want, ok := wantStatus[name]
			if !ok {
				t.Fatalf("no expected status for %s", name)
			}
			resp, err := h.Invoke(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, resp.Body)
			}
			if ct := resp.Headers["Content-Type"]; resp.StatusCode >= 400 && ct != "application/problem+json" {
				t.Fatalf("error answered as %q", ct)
			}
		})
	}
}

func TestRunNeedsConfiguration(t *testing.T) {
	err := run(context.Background(), func(k string) string {
		return map[string]string{"KEYRING": "kms"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "KMS_KEY_ID") {
		t.Fatalf("got %v, want a configuration error naming KMS_KEY_ID", err)
	}
}
