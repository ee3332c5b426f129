// Package testenv gives tests the real runtime: DynamoDB Local (one per test
// binary, or DYNAMODB_ENDPOINT when set), a fresh table per test, the
// services wired as in production with a local keyring, and the local
// gateway in front of them.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/app/everything"
	"github.com/clientele-crm/clientele/internal/auditkey"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/ddblocal"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/gateway"
	"github.com/clientele-crm/clientele/internal/streams"
)

var endpoint string

// Main runs a test binary's tests with DynamoDB Local up. Call it from
// TestMain. With -short (`make test-fast`) no DynamoDB Local is started
// and every test that asks New for one is skipped: the fast tier is what
// runs against hand-written fakes. When the tests are done it prints how
// many exchanges were validated against the OpenAPI document.
func Main(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ep, stop, err := ddblocal.TestEndpoint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	endpoint = ep
	code := m.Run()
	stop()
	reportContract()
	os.Exit(code)
}

// Endpoint is the DynamoDB Local endpoint of this test binary. With -short
// there is none, and the test is skipped.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs DynamoDB Local: `make test` runs it")
	}
	return endpoint
}

var tableSeq atomic.Int64

// Env is one test's world.
type Env struct {
	TB       testing.TB
	Config   app.Config
	DB       *dynamodb.Client
	Keyring  envelope.Keyring
	Services *app.Services
	Key      *gateway.SigningKey
	Server   *httptest.Server
	// Logs holds every log line the services wrote.
	Logs *LockedBuffer
	// Notifier records every notification the services sent.
	Notifier *crmfake.Notifier
	edges    app.Edges
}

// Option adjusts an Env before its services are built.
type Option func(*Env)

// WithKeyring replaces the local keyring.
func WithKeyring(kr envelope.Keyring) Option { return func(e *Env) { e.Keyring = kr } }

// WithConfig edits the configuration.
func WithConfig(f func(*app.Config)) Option { return func(e *Env) { f(&e.Config) } }

// New builds an Env with its own table.
func New(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs DynamoDB Local: `make test` runs it")
	}
	if endpoint == "" {
		tb.Fatal("testenv.Main was not called from TestMain")
	}
	ctx := context.Background()
	state := tb.TempDir()
	table := fmt.Sprintf("t%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, tableSeq.Add(1))
	cfg, err := app.Load(func(k string) string {
		switch k {
		case "DYNAMODB_ENDPOINT":
			return endpoint
		case "CLIENTELE_STATE_DIR":
			return state
		case "TABLE_NAME":
			return table
		case "AUDIT_TABLE_NAME":
			return table + "-audit"
		case "FUNCTION_TIMEOUT":
			// Test packages share one DynamoDB Local on a machine that
			// may be busy; a slow answer there is not what these tests
			// are about. The deadline tests set their own.
			return "60s"
		}
		return ""
	})
	if err != nil {
		tb.Fatal(err)
	}
	e := &Env{TB: tb, Config: cfg, Logs: &LockedBuffer{}, Notifier: &crmfake.Notifier{}}
	awsCfg, err := cfg.AWS(ctx, everything.Function)
	if err != nil {
		tb.Fatal(err)
	}
	e.DB = cfg.DynamoDB(awsCfg)
	if err := dynamo.EnsureTables(ctx, e.DB, cfg.Table, cfg.AuditTable); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, t := range []string{cfg.Table, cfg.AuditTable} {
			e.assertNoPlaintext(t)
			_, _ = e.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(t)})
		}
	})
	if e.Keyring, err = envelope.OpenLocalKeyring(filepath.Join(state, "keyring.json")); err != nil {
		tb.Fatal(err)
	}
	for _, o := range opts {
		o(e)
	}
	log := slog.New(slog.NewJSONHandler(e.Logs, nil))
	auditKey, err := auditkey.OpenFile(filepath.Join(state, "audit-signing-key.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	// KPI metrics would go to stdout, as on Lambda; tests read reports.
	e.edges = app.Edges{DB: e.DB, Keyring: e.Keyring, Notifier: e.Notifier, Logger: log, Out: io.Discard, AuditKey: auditKey}
	if e.Services, err = app.Build(ctx, e.Config, everything.Function, e.edges); err != nil {
		tb.Fatal(err)
	}
	if e.Key, err = gateway.LoadSigningKey(filepath.Join(state, "jwt.pem")); err != nil {
		tb.Fatal(err)
	}
	fns := map[string]gateway.Invoker{}
	for _, rt := range api.Routes() {
		fns[rt.Function] = api.NewHandler(e.Services.API, rt.Function, everything.Function.Routes).Invoke
	}
	e.Server = httptest.NewServer(gateway.New(api.Routes(), fns, gateway.NewVerifier(e.Key), log))
	// A 308 (a merged-away customer) is an answer the tests look at, not
	// one to follow.
	e.Server.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tb.Cleanup(e.Server.Close)
	return e
}

// Token mints a token for user holding roles.
func (e *Env) Token(user string, roles ...string) string {
	e.TB.Helper()
	t, err := e.Key.Token(user, roles, time.Now(), time.Hour)
	if err != nil {
		e.TB.Fatal(err)
	}
	return t
}

// ClientToken mints a machine client's access token holding scopes.
func (e *Env) ClientToken(client string, scopes ...string) string {
	e.TB.Helper()
	t, err := e.Key.ClientToken(client, scopes, time.Now(), time.Hour)
	if err != nil {
		e.TB.Fatal(err)
	}
	return t
}

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it cannot.
func (r Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %d response: %v", r.Status, err)
	}
}

// Map decodes the body as a JSON object.
func (r Response) Map(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	r.JSON(tb, &m)
	return m
}

// Request is a request to send through the gateway.
type Request struct {
	Method, Path, Token string
	// Body is sent as is when it is a string or []byte, as JSON otherwise.
	Body   any
	Header map[string]string
}

// Do sends r through the local gateway, and fails the test when the
// exchange does not match the served OpenAPI document (see contract).
func (e *Env) Do(r Request) Response {
	e.TB.Helper()
	var sent []byte
	ct := ""
	switch b := r.Body.(type) {
	case nil:
	case string:
		sent, ct = []byte(b), "application/json"
	case []byte:
		sent, ct = b, "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.TB.Fatal(err)
		}
		sent, ct = raw, "application/json"
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(r.Method, e.Server.URL+r.Path, body)
	if err != nil {
		e.TB.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		e.TB.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.TB.Fatal(err)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	e.checkExchange(r.Method, req.URL.String(), req.Header, sent, out)
	return out
}

// Shapes of personal data that must never be stored as plaintext: phone
// numbers in E.164 and e-mail addresses. Every test's table is scanned for
// them before it is dropped, so the guarantee covers the whole suite.
var (
	phoneShape = regexp.MustCompile(`\+[1-9][0-9]{7,14}`)
	emailShape = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
)

// StoreConfig is the configuration of a store of this environment's
// tables and keyring reached through db: a test wraps the client to count
// or disturb its calls, and adjusts the rest where it needs to.
func (e *Env) StoreConfig(db dynamo.DB) dynamo.Config {
	return dynamo.Config{DB: db, Table: e.Config.Table, AuditTable: e.Config.AuditTable, Keyring: e.Keyring}
}

// ScanDB is a client of the same DynamoDB Local without the processes'
// per-call time limit, for whole-table scans (a rebuild of a large
// benchmark table, the plaintext check below), whose pages DynamoDB Local
// may take longer to answer than a request is allowed.
func (e *Env) ScanDB() *dynamodb.Client {
	return dynamodb.New(e.DB.Options(), func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Timeout: 10 * time.Minute} })
}

// assertNoPlaintext scans the whole table, raw, and fails the test if any
// string attribute holds something shaped like a phone number or an e-mail
// address. Sealed fields are binary and never match.
func (e *Env) assertNoPlaintext(table string) {
	p := dynamodb.NewScanPaginator(e.ScanDB(), &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			e.TB.Errorf("scan %s: %v", table, err)
			return
		}
		for _, item := range page.Items {
			for name, v := range item {
				if s := plaintextIn(v); s != "" {
					e.TB.Errorf("attribute %s of a stored item holds a plaintext %s", name, s)
				}
			}
		}
	}
}

func plaintextIn(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		switch {
		case phoneShape.MatchString(x.Value):
			return "phone number"
		case emailShape.MatchString(x.Value):
			return "e-mail address"
		}
	case *types.AttributeValueMemberSS:
		for _, s := range x.Value {
			if found := plaintextIn(&types.AttributeValueMemberS{Value: s}); found != "" {
				return found
			}
		}
	case *types.AttributeValueMemberL:
		for _, e := range x.Value {
			if found := plaintextIn(e); found != "" {
				return found
			}
		}
	case *types.AttributeValueMemberM:
		for _, e := range x.Value {
			if found := plaintextIn(e); found != "" {
				return found
			}
		}
	}
	return ""
}

// LockedBuffer collects log lines written from many goroutines.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// ReplayEvents sends every sample event in dir that belongs to fn through
// fn's own services and Lambda handler, built as its main builds them and
// invoked as the Lambda runtime invokes it (raw JSON in, raw JSON out), and
// checks each status against want, which must name every such file.
func (e *Env) ReplayEvents(dir string, fn app.Function, want map[string]int) {
	e.TB.Helper()
	t, ok := e.TB.(*testing.T)
	if !ok {
		e.TB.Fatal("ReplayEvents needs a *testing.T")
	}
	function := fn.Name
	svc, err := app.Build(context.Background(), e.Config, fn, e.edges)
	if err != nil {
		t.Fatal(err)
	}
	h := lambda.NewHandler(app.Handler(svc, fn))
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events in %s: %v", dir, err)
	}
	routes := map[string]string{}
	for _, rt := range api.Routes() {
		routes[rt.Key()] = rt.Function
	}
	replayed := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if routes[ev.RouteKey] != function {
			continue
		}
		replayed++
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			status, ok := want[name]
			if !ok {
				t.Fatalf("no expected status for %s", name)
			}
			out, err := h.Invoke(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if resp.StatusCode != status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
			}
			if ct := resp.Headers["Content-Type"]; resp.StatusCode >= 400 && ct != "application/problem+json" {
				t.Fatalf("error answered as %q", ct)
			}
		})
	}
	if replayed != len(want) {
		t.Errorf("replayed %d events, expected statuses for %d", replayed, len(want))
	}
}

// StreamsClient returns a DynamoDB Streams client of this binary's
// DynamoDB Local.
func (e *Env) StreamsClient() *dynamodbstreams.Client {
	e.TB.Helper()
	cfg, err := e.Config.AWS(context.Background(), everything.Function)
	if err != nil {
		e.TB.Fatal(err)
	}
	return streams.NewClient(cfg, e.Config.Endpoint)
}
