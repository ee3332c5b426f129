package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/gateway"
	"github.com/clientele-crm/clientele/internal/phone"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// grantedKeyring refuses, as KMS refuses a call outside a principal's
// grants, every call that one function's grant (app.FieldGrants) does not
// allow, and records what it allowed.
type grantedKeyring struct {
	envelope.Keyring
	seal, open, entities []string

	mu     sync.Mutex
	used   map[string]bool
	denied []string
}

func newGrantedKeyring(kr envelope.Keyring, fn string) *grantedKeyring {
	g := app.FieldGrants()[fn]
	seal := append([]string{dynamo.PurposeBlindIndex}, g.Seal...)
	return &grantedKeyring{Keyring: kr, seal: seal, open: slices.Concat(seal, g.Open),
		entities: dynamo.EntitiesOf(slices.Concat(g.Seal, g.Open)...), used: map[string]bool{}}
}

var errDenied = fmt.Errorf("%w: AccessDeniedException", envelope.ErrUnavailable)

func (g *grantedKeyring) check(op string, encCtx map[string]string) error {
	p, named := encCtx["purpose"]
	allowed := false
	switch {
	case !named:
		allowed = op == "open" && slices.Contains(g.entities, encCtx["entity"])
	case op == "seal":
		allowed = slices.Contains(g.seal, p)
	default:
		allowed = slices.Contains(g.open, p)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !allowed {
		g.denied = append(g.denied, op+" "+p+" "+encCtx["entity"])
		return errDenied
	}
	g.used[op+" "+p] = true
	return nil
}

func (g *grantedKeyring) GenerateDataKey(ctx context.Context, encCtx map[string]string) ([]byte, []byte, error) {
	if err := g.check("seal", encCtx); err != nil {
		return nil, nil, err
	}
	return g.Keyring.GenerateDataKey(ctx, encCtx)
}

func (g *grantedKeyring) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	if err := g.check("open", encCtx); err != nil {
		return nil, err
	}
	return g.Keyring.Decrypt(ctx, wrapped, encCtx)
}

// TestFunctionsWorkWithinTheirGrants runs each function's work — every
// kind of write and read its routes, its schedule and its stream make — as
// a separate process whose keyring allows only that function's grant on
// the field key, as the stack's IAM policies do. Nothing is refused, and
// every purpose granted is used: the grants are enough, and no wider than
// the code needs.
func TestFunctionsWorkWithinTheirGrants(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cfg := e.Config
	// Every open reaches the keyring, so each use of a grant is seen.
	cfg.Cache.Disabled = true
	fns := []string{api.FnCustomers, api.FnComplaints, api.FnReminders, api.FnReports}
	keyrings := map[string]*grantedKeyring{}
	services := map[string]*app.Services{}
	invokers := map[string]gateway.Invoker{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, fn := range fns {
		keyrings[fn] = newGrantedKeyring(e.Keyring, fn)
		svc, err := app.Build(ctx, cfg, app.Function{Name: fn, ParsePhone: phone.E164},
			app.Edges{DB: e.DB, Keyring: keyrings[fn], Notifier: e.Notifier, Logger: quiet, Out: io.Discard})
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		services[fn] = svc
		invokers[fn] = api.NewHandler(svc.API, fn, api.AllRoutes()).Invoke
	}
	srv := httptest.NewServer(gateway.New(api.Routes(), invokers, gateway.NewVerifier(e.Key), quiet))
	defer srv.Close()

	seq := 0
	call := func(method, path, token string, body any, want int) map[string]any {
		t.Helper()
		var r io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			r = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, srv.URL+path, r)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if method == "POST" {
			seq++
			req.Header.Set("Idempotency-Key", fmt.Sprintf("grant-test-%d", seq))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	alice, sam, admin := e.Token("alice", "sales"), e.Token("sam", "service"), e.Token("root", "admin")

	// customers: customer fields, interaction notes, saved responses.
	id := call("POST", "/customers", alice, map[string]any{"name": "Li Wei", "phone": "13800138000", "email": "li.wei@example.com",
		"address": map[string]any{"line1": "88 Jianguo Road", "country": "CN"}}, 201)["id"].(string)
	call("GET", "/customers/"+id, alice, nil, 200)
	call("POST", "/customers/"+id+"/interactions", alice, map[string]any{"kind": "call", "at": time.Now().Add(-time.Hour),
		"summary": "Discussed renewal", "followUpAt": time.Now().Add(time.Hour)}, 201)
	call("GET", "/customers/"+id+"/interactions", alice, nil, 200)
	link := call("POST", "/customers/"+id+"/portal-links", alice, nil, 201)["url"].(string)
	portal := "/portal/" + link[strings.LastIndex(link, "#")+1:]
	call("GET", portal, "", nil, 200)
	call("PUT", portal, "", map[string]any{"email": "new.address@example.org"}, 200)

	// complaints: complaint text, the customer it is filed for.
	complaint := map[string]any{"customerId": id, "channel": "phone", "category": "delivery", "severity": "high",
		"subject": "Damaged parcel", "description": "The box arrived crushed"}
	resolved := call("POST", "/complaints", sam, complaint, 201)["id"].(string)
	open := call("POST", "/complaints", sam, complaint, 201)["id"].(string)
	call("POST", "/complaints/"+resolved+"/notes", sam, map[string]any{"note": "Called the courier"}, 201)
	call("POST", "/complaints/"+resolved+"/transitions", sam, map[string]any{"to": "in_progress"}, 200)
	call("POST", "/complaints/"+resolved+"/transitions", sam, map[string]any{"to": "resolved",
		"resolution": map[string]any{"summary": "Replaced the item", "rootCause": "Courier handling", "remedy": "New courier contract"}}, 200)
	call("GET", "/complaints/"+open, sam, nil, 200)
	call("GET", "/customers/"+id+"/export", admin, nil, 200)

	// reminders: the run (review reminders with their links, escalation of
	// the breached complaint), then a reminder marked done.
	if _, err := services[api.FnReminders].API.Reminders.Run(ctx, time.Now().Add(400*24*time.Hour)); err != nil {
		t.Fatalf("reminder run: %v", err)
	}
	var reminders struct{ Items []struct{ ID string } }
	raw, _ := json.Marshal(call("GET", "/reminders", alice, nil, 200))
	if json.Unmarshal(raw, &reminders); len(reminders.Items) == 0 {
		t.Fatal("the run left alice no reminder")
	}
	call("POST", "/reminders/"+reminders.Items[0].ID+"/done", alice, nil, 200)
	if got := call("GET", "/complaints/"+open, sam, nil, 200)["escalationLevel"]; got == nil || got == float64(0) {
		t.Errorf("the breached complaint was not escalated (level %v)", got)
	}

	// reports: the stream consumer, then a report with root-cause labels.
	var poller *streams.Poller
	records := streamRecords(t, e, &poller)
	h := app.StreamHandler(services[api.FnReports], quiet)
	if resp, err := h(ctx, events.DynamoDBEvent{Records: records}); err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("stream consumer: %v, %d failures", err, len(resp.BatchItemFailures))
	}
	if body := call("GET", "/reports/complaints", admin, nil, 200); !strings.Contains(fmt.Sprint(body), "courier handling") {
		t.Errorf("the report names no root cause: %v", body)
	}

	for _, fn := range fns {
		g := keyrings[fn]
		if len(g.denied) > 0 {
			t.Errorf("%s was refused %v", fn, g.denied)
		}
		grant := app.FieldGrants()[fn]
		for _, p := range grant.Seal {
			if !g.used["seal "+p] {
				t.Errorf("%s never sealed %s: its grant is wider than its code", fn, p)
			}
		}
		for _, p := range grant.Open {
			if !g.used["open "+p] {
				t.Errorf("%s never opened %s: its grant is wider than its code", fn, p)
			}
		}
	}

	// The keyring does refuse: a function without the grant cannot seal.
	stranger := newGrantedKeyring(e.Keyring, api.FnReports)
	if _, _, err := stranger.GenerateDataKey(ctx, map[string]string{"table": dynamo.LogicalTable, "entity": "customer", "purpose": dynamo.PurposeCustomerFields}); !errors.Is(err, envelope.ErrUnavailable) {
		t.Errorf("reports sealed customer fields: %v", err)
	}
}
