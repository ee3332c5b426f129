// Command coldstart measures the cold start of every Lambda function
// against an SDK floor: it builds each functions/* bootstrap and the floor,
// starts DynamoDB Local and a local Lambda Runtime API, and execs each
// binary fresh many times, timing exec to the first request for an event
// (init) and exec to the answer to that event (init plus first invoke).
//
//	go run ./cmd/coldstart [-n 15] [-o docs/coldstart.md]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clientele-crm/clientele/internal/ddblocal"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// listFlag collects a repeated name=value flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 15, "cold starts per binary")
	out := fs.String("o", "", "also write the results as markdown to this file")
	root := fs.String("root", ".", "the module's root directory")
	goCmd := fs.String("go", "go", "the go command that builds the binaries")
	top := fs.Int("top", 3, "packages to list per binary from GODEBUG=inittrace=1")
	traces := fs.Int("traces", 5, "runs per binary with GODEBUG=inittrace=1; each package's figure is the median")
	limit := fs.Duration("timeout", 20*time.Minute, "give up on the whole run after this long")
	perRun := fs.Duration("run-timeout", 30*time.Second, "give up on one process's init and invocation after this long")
	var eventFlags, envFlags listFlag
	fs.Var(&eventFlags, "event", "`name=file`: measure binary name with this event instead of its default (repeatable)")
	fs.Var(&envFlags, "env", "`KEY=VALUE` added to every function's environment (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *top < 0 || *traces < 1 || fs.NArg() > 0 {
		return errors.New("usage: coldstart [-n N] [-o FILE] [-event name=file] [-env KEY=VALUE]")
	}
	overrides := map[string]string{}
	for _, e := range eventFlags {
		name, file, ok := strings.Cut(e, "=")
		if !ok || name == "" || file == "" {
			return fmt.Errorf("-event %q is not name=file", e)
		}
		overrides[name] = file
	}
	for _, e := range envFlags {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("-env %q is not KEY=VALUE", e)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()

	names, err := functionNames(*root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins, err := buildAll(ctx, *goCmd, *root, tmp, names, stderr)
	if err != nil {
		return err
	}

	endpoint, stopDB, err := dynamoDB(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stopDB()
	table := fmt.Sprintf("coldstart-%d-%d", os.Getpid(), time.Now().Unix())
	dropTables, err := createTables(ctx, endpoint, table)
	if err != nil {
		return err
	}
	defer dropTables()
	state := filepath.Join(tmp, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		return err
	}

	rn := &runner{timeout: *perRun, env: append(lambdaEnv(endpoint, table, state), envFlags...)}

	b := &bench{rn: rn, root: *root, stderr: stderr}
	rep := &report{n: *n, top: *top}
	for _, bin := range bins {
		rw, note, err := b.prepare(ctx, bin, overrides)
		if err != nil {
			return err
		}
		if note != "" {
			rep.notes = append(rep.notes, note)
		}
		rep.rows = append(rep.rows, rw)
	}
	fmt.Fprintln(stderr, "tracing package init (GODEBUG=inittrace=1)…")
	runs := make([][][]pkgInit, len(rep.rows))
	for range *traces {
		for i := range rep.rows {
			pkgs, err := b.trace(ctx, &rep.rows[i])
			if err != nil {
				return err
			}
			runs[i] = append(runs[i], pkgs)
		}
	}
	for i := range rep.rows {
		rep.rows[i].initPkgs, rep.rows[i].initTraceMS = combineTraces(runs[i])
	}
	rep.traces = *traces
	// Round-robin, each round starting one binary further on, so that
	// neither machine noise nor the order of the list favours any binary.
	for it := range *n {
		fmt.Fprintf(stderr, "round %d/%d\n", it+1, *n)
		for j := range rep.rows {
			rw := &rep.rows[(it+j)%len(rep.rows)]
			s, err := b.measure(ctx, rw)
			if err != nil {
				return err
			}
			rw.inits = append(rw.inits, s.init)
			rw.totals = append(rw.totals, s.total)
		}
	}
	fmt.Fprintln(stdout)
	if err := rep.writeText(stdout); err != nil {
		return err
	}
	if *out != "" {
		// Described before the report is opened: truncating it would
		// count as an uncommitted change to the tree measured.
		m := describeMachine(*goCmd, *root)
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := rep.writeMarkdown(f, m); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", *out)
	}
	return nil
}

// dynamoDB returns DYNAMODB_ENDPOINT if set, else a DynamoDB Local started
// for this run, which stop shuts down.
func dynamoDB(ctx context.Context, getenv func(string) string, stderr io.Writer) (endpoint string, stop func(), err error) {
	return ddblocal.Use(ctx, getenv(ddblocal.EnvEndpoint), stderr)
}

// createTables creates the main and audit tables from the definitions the
// stack uses, and returns a function that drops them (which matters only on
// a DynamoDB this run did not start).
func createTables(ctx context.Context, endpoint, table string) (drop func(), err error) {
	db, err := ddblocal.Client(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	if err := dynamo.EnsureTables(ctx, db, table, table+"-audit"); err != nil {
		return nil, err
	}
	return func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, t := range []string{table, table + "-audit"} {
			_, _ = db.DeleteTable(dctx, &dynamodb.DeleteTableInput{TableName: aws.String(t)})
		}
	}, nil
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function,
// with Clientele's configuration pointing at the local table and keyring.
// Credentials are dummies in the environment, as Lambda puts the role's
// there, so no client goes looking for an instance metadata service.
func lambdaEnv(endpoint, table, state string) []string {
	return []string{
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TABLE_NAME=" + table,
		"AUDIT_TABLE_NAME=" + table + "-audit",
		"DYNAMODB_ENDPOINT=" + endpoint,
		"KEYRING=local",
		"CLIENTELE_STATE_DIR=" + state,
		"REMINDER_INTERVAL=off",
	}
}

// functionEnv is what differs per function.
func functionEnv(name string) []string {
	fn := "clientele-" + name
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + fn,
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fn,
		"AWS_LAMBDA_LOG_STREAM_NAME=coldstart",
	}
}

// bench runs one binary's warm-up, trace and measured cold starts.
type bench struct {
	rn     *runner
	root   string
	stderr io.Writer
	events map[string][]byte
}

// prepare chooses the binary's event and runs it once untimed: that
// creates the keyring and the blind-index key the first process of a
// deployment would, brings the binary into the page cache and, for
// customers, creates the customer the measured runs read.
func (b *bench) prepare(ctx context.Context, bin binary, overrides map[string]string) (row, string, error) {
	if b.events == nil {
		b.events = map[string][]byte{}
	}
	rw := row{binary: bin}
	note := ""
	if _, overridden := overrides[bin.name]; bin.name == "customers" && !overridden {
		ev, why, err := b.seedCustomer(ctx, bin)
		if err != nil {
			return rw, "", err
		}
		if ev != nil {
			rw.event = "GET /customers/{id} of a customer created by the warm-up"
			b.events[bin.name] = ev
			return rw, "", nil
		}
		note = why
	}
	file := eventFile(b.root, bin.name, overrides)
	ev, err := os.ReadFile(file)
	if err != nil {
		return rw, "", fmt.Errorf("%s: %w", bin.name, err)
	}
	rw.event = filepath.Base(file)
	b.events[bin.name] = ev
	fmt.Fprintf(b.stderr, "warming up %s with %s…\n", bin.name, rw.event)
	if _, err := b.invoke(ctx, bin, ev, nil); err != nil {
		return rw, "", err
	}
	return rw, note, nil
}

// seedCustomer creates a customer through the customers function itself
// and returns the event that reads it back. When the function does not
// create one (it answers, but not 201), it returns no event and a note
// saying why, and the caller measures the list instead.
func (b *bench) seedCustomer(ctx context.Context, bin binary) ([]byte, string, error) {
	create, err := os.ReadFile(filepath.Join(b.root, "events", seedCreateEvent))
	if err != nil {
		return nil, "", err
	}
	get, err := os.ReadFile(filepath.Join(b.root, "events", seedGetEvent))
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(b.stderr, "warming up customers with %s…\n", seedCreateEvent)
	resp, err := b.invoke(ctx, bin, create, nil)
	if err != nil {
		return nil, "", err
	}
	id, err := createdID(resp)
	if err != nil {
		return nil, fmt.Sprintf("customers measured with its list, since no customer could be created: %v", err), nil
	}
	ev, err := getCustomerEvent(get, id)
	if err != nil {
		return nil, "", err
	}
	// The read itself must answer 200: a 404 would measure less work.
	r, err := b.invoke(ctx, bin, ev, nil)
	if err != nil {
		return nil, "", err
	}
	if r.StatusCode != 200 {
		return nil, "", fmt.Errorf("customers: GET of the customer the warm-up created answered %d", r.StatusCode)
	}
	return ev, "", nil
}

// invoke runs bin once on ev and checks that it answered as an API.
func (b *bench) invoke(ctx context.Context, bin binary, ev []byte, env []string) (apiResponse, error) {
	_, res, stderr, err := b.rn.run(ctx, bin.path, append(functionEnv(bin.name), env...), ev)
	if err == nil {
		var r apiResponse
		if r, err = checkAPIResponse(res); err == nil {
			return r, nil
		}
	}
	return apiResponse{}, failure(ctx, bin.name, err, stderr)
}

// failure describes a run that went wrong, with the process's last output:
// its log lines or, when it was stuck, its goroutines' stacks.
func failure(ctx context.Context, what string, err error, stderr string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	lines := 20
	if errors.Is(err, errStuck) {
		lines = 80
	}
	return fmt.Errorf("%s: %w; its last output:\n%s", what, err, lastLines(stderr, lines))
}

// trace runs the binary once with GODEBUG=inittrace=1 and returns where
// its package initialization went.
func (b *bench) trace(ctx context.Context, rw *row) ([]pkgInit, error) {
	_, res, stderr, err := b.rn.run(ctx, rw.path, append(functionEnv(rw.name), "GODEBUG=inittrace=1"), b.events[rw.name])
	if err == nil {
		_, err = checkAPIResponse(res)
	}
	if err != nil {
		return nil, failure(ctx, rw.name+" with inittrace", err, stderr)
	}
	pkgs, _ := parseInittrace(stderr)
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("%s printed no inittrace lines", rw.name)
	}
	return pkgs, nil
}

// measure runs one timed cold start.
func (b *bench) measure(ctx context.Context, rw *row) (sample, error) {
	s, res, stderr, err := b.rn.run(ctx, rw.path, functionEnv(rw.name), b.events[rw.name])
	if err == nil {
		_, err = checkAPIResponse(res)
	}
	if err != nil {
		return s, failure(ctx, rw.name, err, stderr)
	}
	return s, nil
}
