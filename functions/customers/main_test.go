package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSampleEvents replays every sample event of this function through the
// real Lambda handler, as Lambda would call it, against DynamoDB Local.
func TestSampleEvents(t *testing.T) {
	testenv.New(t).ReplayEvents("../../events", function, map[string]int{
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
	})
}

func TestStartNeedsConfiguration(t *testing.T) {
	err := app.ServeLambda(context.Background(), app.EmptyIsUnset(func(k string) string {
		return map[string]string{"KEYRING": "kms"}[k]
	}), function, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "KMS_KEY_ID") {
		t.Fatalf("got %v, want a configuration error naming KMS_KEY_ID", err)
	}
}
