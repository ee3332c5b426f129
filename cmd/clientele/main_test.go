package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/gateway"
	"github.com/clientele-crm/clientele/internal/notify"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestRunServesAndStops runs `clientele run` against the test DynamoDB
// Local, creates a customer with a token from `clientele token`, and stops
// it by cancelling, as Ctrl-C does.
func TestRunServesAndStops(t *testing.T) {
	state, port, ep := t.TempDir(), freePort(t), testenv.Endpoint(t)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": ep, "CLIENTELE_STATE_DIR": state, "PORT": port,
			"TABLE_NAME": "run-" + port, "LOG_LEVEL": "error"}[k]
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"run"}, app.EmptyIsUnset(getenv), &stdout, &stderr) }()

	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving: %v %s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	var tok bytes.Buffer
	if err := run(ctx, []string{"token", "-role", "sales", "-user", "alice"}, app.EmptyIsUnset(getenv), &tok, &stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(tok.String()), "\n")
	token := lines[len(lines)-1]
	req, _ := http.NewRequest("POST", base+"/customers", strings.NewReader(`{"name":"Li Wei","phone":"138 0013 8000"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create through `clientele run`: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	if !strings.Contains(stdout.String(), "make -s token") || !strings.Contains(stdout.String(), "curl") {
		t.Errorf("run did not print how to get a token and a first request:\n%s", stdout.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after stop")
	}
}

func TestTokenIsAcceptedByTheGateway(t *testing.T) {
	state := t.TempDir()
	getenv := func(k string) string { return map[string]string{"CLIENTELE_STATE_DIR": state}[k] }
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "-role", "admin,auditor", "-user", "root"}, app.EmptyIsUnset(getenv), &out, &errOut); err != nil {
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
	groups, _ := json.Marshal(claims["cognito:groups"])
	if claims["sub"] != "root" || string(groups) != `["admin","auditor"]` {
		t.Fatalf("claims %v", claims)
	}
	if err := run(context.Background(), []string{"token", "-role", "janitor"}, app.EmptyIsUnset(getenv), &out, &errOut); err == nil {
		t.Fatal("an unknown role was accepted")
	}
}

func TestInvokeSampleEvent(t *testing.T) {
	state, ep := t.TempDir(), testenv.Endpoint(t)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": ep, "CLIENTELE_STATE_DIR": state, "TABLE_NAME": "invoke-test", "LOG_LEVEL": "error"}[k]
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"invoke", "-fn", "customers", "-event", "../../events/customers-create.json"}, app.EmptyIsUnset(getenv), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		StatusCode int
		Body       string
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || resp.StatusCode != 201 || !strings.Contains(resp.Body, "+8613800138000") {
		t.Fatalf("invoke printed %s (%v)", out.String(), err)
	}
}

func TestOutboxPrintsNotifications(t *testing.T) {
	state := t.TempDir()
	getenv := func(k string) string { return map[string]string{"CLIENTELE_STATE_DIR": state}[k] }
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"outbox"}, app.EmptyIsUnset(getenv), &out, &errOut); err != nil || !strings.Contains(out.String(), "no notifications") {
		t.Fatalf("empty outbox: %v %q", err, out.String())
	}
	ob := notify.NewOutbox(filepath.Join(state, "outbox.jsonl"), nil)
	for _, id := range []string{"n1", "n2"} {
		if err := ob.Notify(context.Background(), crm.Notification{ID: id, Kind: crm.NotifyComplaintAssigned, RecipientType: crm.RecipientStaff, RecipientID: "sam", SubjectType: "complaint", SubjectID: "k_1"}); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"outbox"}, app.EmptyIsUnset(getenv), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"id":"n2"`) {
		t.Fatalf("outbox printed %q", out.String())
	}
}

// TestKeysRotate rotates the blind-index key of a table holding a
// customer, twice, with `clientele keys rotate`: each run re-derives the
// customer's entries and retires the previous version, and the customer's
// phone is still claimed after both.
func TestKeysRotate(t *testing.T) {
	state, ep := t.TempDir(), testenv.Endpoint(t)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": ep, "CLIENTELE_STATE_DIR": state, "TABLE_NAME": "keys-rotate-test", "LOG_LEVEL": "error"}[k]
	}
	sample, err := os.ReadFile("../../events/customers-create.json")
	if err != nil {
		t.Fatal(err)
	}
	create := func(key string) int {
		// Another idempotency key each time, so the second is a new request.
		event := filepath.Join(t.TempDir(), "create.json")
		if err := os.WriteFile(event, bytes.ReplaceAll(sample, []byte("sample-create-1"), []byte(key)), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"invoke", "-fn", "customers", "-event", event}, app.EmptyIsUnset(getenv), &out, &errOut); err != nil {
			t.Fatal(err)
		}
		var resp struct{ StatusCode int }
		if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := create("before"); got != 201 {
		t.Fatalf("create: %d", got)
	}
	for version := 2; version <= 3; version++ {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"keys", "rotate", "-settle", "0s"}, app.EmptyIsUnset(getenv), &out, &errOut); err != nil {
			t.Fatalf("rotate: %v\n%s", err, errOut.String())
		}
		if want := fmt.Sprintf("version %d in use", version); !strings.Contains(out.String(), want) {
			t.Errorf("rotate printed %q, want %q", out.String(), want)
		}
		if !strings.Contains(errOut.String(), "re-derived the index entries of 1 customers") {
			t.Errorf("no progress on stderr: %q", errOut.String())
		}
	}
	if got := create("after"); got != 409 {
		t.Errorf("the same customer again after two rotations: %d, want 409", got)
	}
}
