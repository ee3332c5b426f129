package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	allfn "github.com/clientele-crm/clientele/internal/app/everything"
	"github.com/clientele-crm/clientele/internal/console"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/ddblocal"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/gateway"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/surveypage"
)

// endpointFile records, in the state directory, the DynamoDB Local that a
// running `clientele run` started, so `token`, `invoke` and later jobs work
// against the same database.
const endpointFile = "dynamodb-endpoint"

// localDynamoDB returns the endpoint to use: DYNAMODB_ENDPOINT, else the one
// a running `clientele run` recorded, else a fresh DynamoDB Local that stop
// shuts down.
func localDynamoDB(ctx context.Context, cfg app.Config, stderr io.Writer, startOwn bool) (endpoint string, stop func(), err error) {
	if !startOwn && cfg.Endpoint == "" {
		if b, err := os.ReadFile(filepath.Join(cfg.StateDir, endpointFile)); err == nil {
			ep := strings.TrimSpace(string(b))
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if ddblocal.Wait(wctx, ep) == nil {
				return ep, func() {}, nil
			}
		}
	}
	return ddblocal.Use(ctx, cfg.Endpoint, stderr)
}

func cmdRun(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.LoadEnviron(getenv)
	if err != nil {
		return err
	}
	port := getenv.Get("PORT")
	if port == "" {
		port = "8080"
	}
	endpoint, stop, err := localDynamoDB(ctx, cfg, stderr, true)
	if err != nil {
		return err
	}
	defer stop()
	if cfg.Endpoint == "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
		ef := filepath.Join(cfg.StateDir, endpointFile)
		if err := os.WriteFile(ef, []byte(endpoint+"\n"), 0o600); err != nil {
			return fmt.Errorf("record endpoint: %w", err)
		}
		defer os.Remove(ef)
	}
	cfg.Endpoint = endpoint
	// Receivers under development listen on loopback; on AWS only public
	// https endpoints are reached.
	cfg.Webhooks.Loopback = true
	svc, err := localServices(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	h, err := localGateway(svc, cfg)
	if err != nil {
		return err
	}
	// The survey links open this plain page (SURVEY_BASE_URL).
	h = surveypage.Handler(h)
	if cfg.ReminderInterval > 0 {
		go remindEvery(ctx, svc, cfg.ReminderInterval)
	}
	if cfg.DigestInterval > 0 {
		go digestEvery(ctx, svc, cfg.DigestInterval)
	}
	// The main table's stream goes to the reports consumer, as Lambda's
	// event source mapping delivers it on AWS.
	poller, err := localStreamPoller(ctx, cfg, svc)
	if err != nil {
		return err
	}
	go func() { _ = poller.Run(ctx) }()
	// The stream consumer fans events out to the endpoints; this loop
	// delivers them, as the webhooks function does on AWS.
	go app.Worker(svc, 0).Run(ctx, time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%s: %w", port, err)
	}
	srv := localServer(h, defaultTimeouts)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := "http://127.0.0.1:" + port
	fmt.Fprintf(stdout, `Clientele is serving on %[1]s (DynamoDB at %[2]s, table %[3]s).

The staff console: %[1]s/ (sign in locally as any role and user).

Get a token (roles: admin, sales, service, finance, auditor):
  TOKEN=$(make -s token ROLE=sales USER=alice | tail -n1)

Create a customer:
  curl -s -X POST %[1]s/customers -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"Li Wei","phone":"138 0013 8000","email":"Li.Wei@Example.com"}'

Press Ctrl-C to stop.
`, base, endpoint, cfg.Table)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	fmt.Fprintln(stderr, "stopping…")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// everything is what the CLI serves: every route and event, with every
// edge.
var everything = allfn.Function

// localServices builds the services over the configured local table,
// creating the table if it does not exist.
func localServices(ctx context.Context, cfg app.Config, stderr io.Writer) (*app.Services, error) {
	awsCfg, err := cfg.AWS(ctx, everything)
	if err != nil {
		return nil, err
	}
	// The functions' client exposes only the operations they use; making
	// tables takes the SDK's own.
	if err := dynamo.EnsureTables(ctx, cfg.DynamoDB(awsCfg), cfg.Table, cfg.AuditTable); err != nil {
		return nil, err
	}
	edges, err := app.Open(ctx, cfg, everything, os.Stdout, stderr)
	if err != nil {
		return nil, err
	}
	return app.Build(ctx, cfg, everything, edges)
}

// localGateway builds every function's handler over one table and puts the
// gateway in front of them.
func localGateway(svc *app.Services, cfg app.Config) (http.Handler, error) {
	key, err := gateway.LoadSigningKey(signingKeyPath(cfg))
	if err != nil {
		return nil, err
	}
	fns := map[string]gateway.Invoker{}
	for _, rt := range api.Routes() {
		if _, ok := fns[rt.Function]; !ok {
			fns[rt.Function] = api.NewHandler(svc.API, rt.Function, everything.Routes).Invoke
		}
	}
	gw := gateway.New(api.Routes(), fns, gateway.NewVerifier(key), svc.API.Logger.With(slog.String("component", "gateway")))
	// The console and its local-only sign-in share the API's origin, as
	// CloudFront and the API share a site on AWS.
	return console.Local(gw, func(user string, roles []string) (string, error) {
		return key.Token(user, roles, time.Now(), 12*time.Hour)
	}), nil
}

// localStreamPoller delivers the main table's stream to the reports
// consumer.
func localStreamPoller(ctx context.Context, cfg app.Config, svc *app.Services) (*streams.Poller, error) {
	awsCfg, err := cfg.AWS(ctx, everything)
	if err != nil {
		return nil, err
	}
	client := streams.NewClient(awsCfg, cfg.Endpoint)
	arn, err := streams.StreamARN(ctx, svc.DB, cfg.Table)
	if err != nil {
		return nil, err
	}
	return streams.New(client, arn, app.StreamHandler(svc, svc.API.Logger), streams.Options{Logger: svc.API.Logger}), nil
}

// digestEvery writes an audit digest every interval, as the schedule does
// on AWS, until ctx is done. A failed run is logged; the next digest covers
// its window too.
func digestEvery(ctx context.Context, svc *app.Services, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_, _ = app.WriteDigest(ctx, svc, now)
		}
	}
}

// remindEvery runs the reminder job now and then every interval, as the
// schedule does on AWS, until ctx is done. Failures are logged by the run;
// the next run picks up what it left.
func remindEvery(ctx context.Context, svc *app.Services, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = app.RunReminders(ctx, svc.API, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cmdRemind runs the reminder job once against the local table, as of -now.
func cmdRemind(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("remind", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nowFlag := fs.String("now", "", "run as of this RFC 3339 instant (default: now), e.g. to replay a missed day")
	if err := fs.Parse(args); err != nil {
		return err
	}
	asOf := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			return fmt.Errorf("-now %q is not an RFC 3339 instant such as 2026-11-22T09:00:00Z", *nowFlag)
		}
		asOf = t
	}
	svc, stop, err := operatorServices(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	rep, runErr := app.RunReminders(ctx, svc.API, asOf)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	return runErr
}

// serverTimeouts bound how long one client can hold a connection of the
// local server.
type serverTimeouts struct{ header, read, write, idle time.Duration }

// defaultTimeouts follow what API Gateway allows a request: 10 MiB read in
// well under a minute, and no answer later than its 30-second integration
// timeout (with room for the slowest local DynamoDB).
var defaultTimeouts = serverTimeouts{header: 10 * time.Second, read: 60 * time.Second, write: 60 * time.Second, idle: 120 * time.Second}

// localServer is the local gateway's HTTP server: without read, write and
// idle timeouts, a client that trickles a body or never reads its answer
// holds a connection and its goroutine forever.
func localServer(h http.Handler, t serverTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.header, ReadTimeout: t.read, WriteTimeout: t.write, IdleTimeout: t.idle}
}

func signingKeyPath(cfg app.Config) string { return filepath.Join(cfg.StateDir, "jwt-signing-key.pem") }

func cmdToken(args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "sales", "comma-separated roles: admin, sales, service, finance, auditor")
	user := fs.String("user", "alice", "the user id (the token's sub)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	client := fs.String("client", "", "mint a machine client's access token for this client id instead of a user's")
	scopes := fs.String("scopes", "", "with -client, space-separated scopes: "+strings.Join(crm.Scopes, " "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.LoadEnviron(getenv)
	if err != nil {
		return err
	}
	if *client != "" {
		return clientToken(cfg, *client, strings.Fields(*scopes), *ttl, stdout, stderr)
	}
	var roles []string
	for _, r := range strings.Split(*role, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	for _, r := range roles {
		if !validRole(r) {
			return fmt.Errorf("unknown role %q: use admin, sales, service, finance or auditor", r)
		}
	}
	if len(roles) == 0 || *user == "" {
		return fmt.Errorf("a role and a user are required")
	}
	key, err := gateway.LoadSigningKey(signingKeyPath(cfg))
	if err != nil {
		return err
	}
	tok, err := key.Token(*user, roles, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "token for %s (%s), valid %s:\n", *user, strings.Join(roles, ","), *ttl)
	fmt.Fprintln(stdout, tok)
	return nil
}

// clientToken prints a machine client's access token, as the
// client-credentials grant would issue it.
func clientToken(cfg app.Config, client string, scopes []string, ttl time.Duration, stdout, stderr io.Writer) error {
	key, err := gateway.LoadSigningKey(signingKeyPath(cfg))
	if err != nil {
		return err
	}
	tok, err := key.ClientToken(client, scopes, time.Now(), ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "access token for client %s (%s), valid %s:\n", client, strings.Join(scopes, " "), ttl)
	fmt.Fprintln(stdout, tok)
	return nil
}

func validRole(r string) bool {
	switch r {
	case "admin", "sales", "service", "finance", "auditor":
		return true
	}
	return false
}

func cmdTables(ctx context.Context, getenv app.Environ, stdout io.Writer) error {
	cfg, err := app.LoadEnviron(getenv)
	if err != nil {
		return err
	}
	if cfg.Endpoint == "" {
		return fmt.Errorf("DYNAMODB_ENDPOINT is not set")
	}
	awsCfg, err := cfg.AWS(ctx, everything)
	if err != nil {
		return err
	}
	db := cfg.DynamoDB(awsCfg)
	if err := dynamo.EnsureTables(ctx, db, cfg.Table, cfg.AuditTable); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s ready at %s\n", cfg.Table, cfg.Endpoint)
	return nil
}

// cmdWithDynamoDB runs a command with a DynamoDB Local of its own, so that
// every test package of one `make test` shares one database process.
func cmdWithDynamoDB(ctx context.Context, args []string, getenv app.Environ, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return fmt.Errorf("with-dynamodb needs a command")
	}
	cfg, err := app.LoadEnviron(getenv)
	if err != nil {
		return err
	}
	endpoint, stop, err := localDynamoDB(ctx, cfg, stderr, true)
	if err != nil {
		return err
	}
	defer stop()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "DYNAMODB_ENDPOINT="+endpoint)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
