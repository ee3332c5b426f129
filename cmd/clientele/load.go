package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/ddblocal"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/gateway"
	"github.com/clientele-crm/clientele/internal/kmsfake"
	"github.com/clientele-crm/clientele/internal/notify"
	"github.com/clientele-crm/clientele/internal/notify/snsnotify"
	"github.com/clientele-crm/clientele/internal/snsfake"
	"github.com/clientele-crm/clientele/internal/streams"
)

// The load run drives the real gateway, router and handlers over loopback
// HTTP against a DynamoDB Local of its own, and times, next to each mix, the
// raw DynamoDB operation the mix comes down to, at the same concurrency on
// the same instance: DynamoDB Local slows down as transactions accumulate,
// so only figures from one instance compare.

// loadOptions configures a load run.
type loadOptions struct {
	levels []int
	ops    int
	mixes  []string
	// faults runs the fault scenarios instead of the mixes.
	faults bool
	// noStream leaves the table's stream unread during the mixes.
	noStream bool
}

func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	levels := fs.String("c", "1,8,32,64,128", "concurrent clients, comma-separated")
	ops := fs.Int("n", 400, "requests per mix and concurrency (each client does at least one round)")
	mixes := fs.String("mix", strings.Join(mixNames(), ","), "mixes to run")
	faults := fs.Bool("faults", false, "run the fault scenarios (DynamoDB Local paused, KMS throttled or down, SNS down) instead")
	out := fs.String("o", "", "also write the results, with the machine, to this file")
	stream := fs.String("stream", "live", "the stream consumer during the mixes: live (in this process, as make run) or off (the API's own work alone, as on AWS where the consumer has its own compute; derived views are then not kept)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (load clients, gateway, consumer) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *stream != "live" && *stream != "off" {
		return fmt.Errorf("-stream: %q is neither live nor off", *stream)
	}
	o := loadOptions{ops: *ops, faults: *faults, mixes: strings.Split(*mixes, ","), noStream: *stream == "off"}
	for _, s := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-c: %q is not a number of clients", s)
		}
		o.levels = append(o.levels, n)
	}
	var report bytes.Buffer
	fmt.Fprintf(&report, "# clientele load\n\ndate: %s\nmachine: %s\n\n", time.Now().UTC().Format(time.RFC3339), machine())
	var err error
	if o.faults {
		err = runFaults(ctx, o, &report, stderr)
	} else {
		err = runMixes(ctx, o, &report, stderr)
	}
	stdout.Write(report.Bytes())
	if *out != "" {
		if werr := os.WriteFile(*out, report.Bytes(), 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ":")
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s; DynamoDB Local in memory, a fresh instance per mix",
		runtime.NumCPU(), strings.TrimSpace(cpu), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// loadEnv is one DynamoDB Local with the local runtime over it.
type loadEnv struct {
	inst  *ddblocal.Instance
	db    *dynamodb.Client
	svc   *app.Services
	cfg   app.Config
	base  string
	key   *gateway.SigningKey
	http  *http.Client
	kms   *kmsfake.Server
	sns   *snsfake.Server
	stops []func()
	// poller is the stream consumer's poller while it runs, else nil.
	poller *streams.Poller
	mu     sync.Mutex
	toks   map[string]string
}

// envOptions chooses the edges: the KMS and SNS fakes instead of the local
// keyring and outbox, so that faults can be injected into them.
type envOptions struct {
	fakes bool
	// noStream starts no stream consumer.
	noStream bool
	// env adds to or overrides the runtime's settings.
	env map[string]string
}

func startEnv(ctx context.Context, o envOptions, stderr io.Writer) (*loadEnv, error) {
	e := &loadEnv{toks: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	cache, err := ddblocal.DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	if e.inst, err = ddblocal.Start(ctx, cache, io.Discard); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	e.stops = append(e.stops, func() { _ = e.inst.Stop() })
	state, err := os.MkdirTemp("", "clientele-load-")
	if err != nil {
		return nil, err
	}
	e.stops = append(e.stops, func() { os.RemoveAll(state) })
	env := map[string]string{
		"DYNAMODB_ENDPOINT": e.inst.Endpoint, "CLIENTELE_STATE_DIR": state, "REMINDER_INTERVAL": "off",
		"ASSIGNMENT": "round_robin", "SERVICE_AGENTS": "agent-1,agent-2,agent-3,agent-4", "LOG_LEVEL": "error",
	}
	if o.fakes {
		// Small data-key batches, so that writes keep needing KMS while
		// it fails.
		env["DATA_KEY_MAX_ITEMS"] = "20"
		env["TOPIC_ARN"] = "arn:aws:sns:us-east-1:000000000000:clientele"
	}
	for k, v := range o.env {
		env[k] = v
	}
	if e.cfg, err = app.Load(func(k string) string { return env[k] }); err != nil {
		return nil, err
	}
	awsCfg, err := e.cfg.AWS(ctx, everything)
	if err != nil {
		return nil, err
	}
	e.db = e.cfg.DynamoDB(awsCfg)
	// Errors only: a 5xx in a run is a finding, and its log line says why.
	edges := app.Edges{DB: e.db, Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Out: io.Discard}
	if o.fakes {
		e.kms, e.sns = kmsfake.New(), snsfake.New()
		e.stops = append(e.stops, e.kms.Close, e.sns.Close)
		kc := awsCfg.Copy()
		kc.BaseEndpoint = aws.String(e.kms.URL())
		edges.Keyring = envelope.NewKMSKeyring(envelope.KMSClient(kms.NewFromConfig(kc)), "alias/clientele")
		sc := awsCfg.Copy()
		sc.BaseEndpoint = aws.String(e.sns.URL())
		edges.Notifier = notify.NewRetrying(snsnotify.New(sc, e.cfg.TopicARN), notify.RetryOptions{Retryable: notify.Unavailable})
	} else {
		if edges.Keyring, err = envelope.OpenLocalKeyring(filepath.Join(state, "keyring.json")); err != nil {
			return nil, err
		}
		edges.Notifier = notify.NewRetrying(notify.NewOutbox(filepath.Join(state, "outbox.jsonl"), edges.Logger), notify.RetryOptions{})
	}
	if err := dynamo.EnsureTables(ctx, e.db, e.cfg.Table, e.cfg.AuditTable); err != nil {
		return nil, err
	}
	if e.svc, err = app.Build(ctx, e.cfg, everything, edges); err != nil {
		return nil, err
	}
	h, err := localGateway(e.svc, e.cfg)
	if err != nil {
		return nil, err
	}
	if e.key, err = gateway.LoadSigningKey(signingKeyPath(e.cfg)); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stops = append(e.stops, cancel)
	poller, err := localStreamPoller(pctx, e.cfg, e.svc)
	if err != nil {
		return nil, err
	}
	if !o.noStream {
		e.poller = poller
		go func() { _ = poller.Run(pctx) }()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e.stops = append(e.stops, func() { _ = srv.Close() })
	e.base = "http://" + ln.Addr().String()
	e.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}}
	ok = true
	return e, nil
}

// settle waits until the stream consumer has applied every change written
// so far, the changes its own views write included, so that a timed path
// does not pay for the derived work of what came before it: a mix's setup,
// or the raw path's items. Without a consumer there is nothing to wait for.
func (e *loadEnv) settle(ctx context.Context) {
	if e.poller == nil {
		return
	}
	for {
		if n, err := e.poller.Drain(ctx); err != nil || n == 0 {
			return
		}
	}
}

func (e *loadEnv) close() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
}

func (e *loadEnv) token(user, role string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.toks[user+"|"+role]; ok {
		return t
	}
	t, err := e.key.Token(user, []string{role}, time.Now(), 6*time.Hour)
	if err != nil {
		panic(err) // the key was loaded; signing cannot fail
	}
	e.toks[user+"|"+role] = t
	return t
}

// reply is what a load client saw of one request. Status 0 is no answer.
type reply struct {
	status     int
	version    int
	retryAfter bool
	body       map[string]any
}

func (e *loadEnv) call(ctx context.Context, method, path, token string, body any, ifMatch int, header ...string) reply {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return reply{}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch > 0 {
		req.Header.Set("If-Match", fmt.Sprintf("%q", strconv.Itoa(ifMatch)))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return reply{}
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After") != ""}
	r.version, _ = strconv.Atoi(strings.Trim(resp.Header.Get("ETag"), `W/"`))
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &r.body)
	return r
}

// recorder collects latencies and outcomes of one path at one concurrency.
type recorder struct {
	mu         sync.Mutex
	lat        []time.Duration
	status     map[int]int
	noRetry    int // 503s without Retry-After
	unexpected int // answers other than the one the request deserved (503 aside)
	// unexpectedBy counts the unexpected answers by status.
	unexpectedBy map[int]int
	start, end   time.Time
	lost         int
	// refusedApplied counts writes answered 4xx/5xx that the table shows
	// applied anyway.
	refusedApplied int
	gaveUp         int
}

func newRecorder() *recorder { return &recorder{status: map[int]int{}, unexpectedBy: map[int]int{}} }

// add records one request; want, when not 0, is the status it deserves.
func (r *recorder) add(d time.Duration, rep reply, want ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, d)
	r.status[rep.status]++
	if rep.status == http.StatusServiceUnavailable && !rep.retryAfter {
		r.noRetry++
	}
	if len(want) > 0 && rep.status != http.StatusServiceUnavailable && !slices.Contains(want, rep.status) {
		r.unexpected++
		r.unexpectedBy[rep.status]++
	}
}

// unexpectedText is the count of unexpected answers, with their statuses.
func (r *recorder) unexpectedText() string {
	if r.unexpected == 0 {
		return "0"
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(r.unexpectedBy)) {
		parts = append(parts, fmt.Sprintf("%d×%d", st, r.unexpectedBy[st]))
	}
	return fmt.Sprintf("%d (%s)", r.unexpected, strings.Join(parts, " "))
}

// timed runs one request and records it.
func (r *recorder) timed(f func() reply, want ...int) reply {
	t := time.Now()
	rep := f()
	r.add(time.Since(t), rep, want...)
	return rep
}

// rawStatus turns a raw DynamoDB call's error into a status-like code.
func rawStatus(err error) reply {
	var tce *types.TransactionCanceledException
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return reply{status: 200}
	case errors.As(err, &tce), errors.As(err, &ccf):
		return reply{status: 409}
	}
	return reply{status: 500}
}

func (r *recorder) row() (ops int, perSec float64, p50, p99 time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	if len(lat) == 0 {
		return 0, 0, 0, 0
	}
	wall := r.end.Sub(r.start).Seconds()
	return len(lat), float64(len(lat)) / wall, lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
}

func (r *recorder) statuses() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	codes := make([]int, 0, len(r.status))
	for c := range r.status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, r.status[c]))
	}
	s := strings.Join(parts, " ")
	if r.noRetry > 0 {
		s += fmt.Sprintf(" (%d 503 without Retry-After)", r.noRetry)
	}
	return s
}

// clients runs c clients, each calling f with its number, and records the
// wall time.
func clients(c int, r *recorder, f func(i int)) {
	var wg sync.WaitGroup
	r.start = time.Now()
	for i := range c {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
	r.end = time.Now()
}

// perClient is how many rounds each of c clients does for a budget of n
// requests, at least one.
func perClient(n, c int) int { return max(1, n/c) }

// mix is one workload: its raw counterpart and its API paths, run on one
// DynamoDB Local at each concurrency in turn.
type mix struct {
	name, title string
	// run returns the recorders of each path at concurrency c, raw first.
	run func(ctx context.Context, e *loadEnv, level, c, n int, stderr io.Writer) []path
}

type path struct {
	name string
	rec  *recorder
}

func mixNames() []string {
	var out []string
	for _, m := range allMixes() {
		out = append(out, m.name)
	}
	return out
}

func allMixes() []mix {
	return []mix{
		{"independent", "Independent writers: each client creates a customer and makes 10 more requests on it, PATCHes with If-Match (admin, so every answer shows billing: a sensitive read, recorded in the write's own audit entry and counted), then moves on to a new customer until it has made its share; of each writer's 10, 2 have an invalid body and 1 a stale If-Match, and 1 writer in 5 tries a duplicate email instead of its first PATCH. Raw: a two-put TransactWriteItems per request, as many as the API path's requests.", mixIndependent},
		{"hot", "One hot customer: every client increments a counter held in `company` by GET + PATCH with If-Match, retrying 412 with jittered backoff. Raw: GetItem + version-conditioned PutItem, same loop.", mixHot},
		{"complaints", "Complaint intake and transitions (service agents, round-robin assignment): POST /complaints, then in_progress, resolved, closed. Raw: the intake's 4-put transaction, then a 2-put transaction per transition.", mixComplaints},
		{"reads", "List and get reads by a sales rep (unaudited): GET /customers?limit=20 and GET /customers/{id} alternately. Raw: Query on the owner index and GetItem alternately.", mixReads},
		{"audited", "Audited reads: GET /customers/{id} by an admin shown billing, next to the same GET by the owning rep (not audited). Raw: GetItem.", mixAudited},
	}
}

func runMixes(ctx context.Context, o loadOptions, report io.Writer, stderr io.Writer) error {
	fmt.Fprintf(report, "%d requests per mix and concurrency (at least one round per client).\n", o.ops)
	if o.noStream {
		fmt.Fprintln(report, "\nThe stream consumer is off (-stream=off): the figures are the API's own work, as on AWS, where the consumer runs in its own function; the derived views are not kept during this run.")
	} else {
		fmt.Fprintln(report, "\nThe stream consumer runs in this process (-stream=live), as under make run, sharing the machine's cores with the API and DynamoDB Local.")
	}
	for _, m := range allMixes() {
		if !slices.Contains(o.mixes, m.name) {
			continue
		}
		if err := runMix(ctx, m, o, report, stderr); err != nil {
			return err
		}
	}
	return nil
}

// runMix runs m at each concurrency in turn on one DynamoDB Local of its
// own.
func runMix(ctx context.Context, m mix, o loadOptions, report io.Writer, stderr io.Writer) error {
	fmt.Fprintf(stderr, "mix %s: starting DynamoDB Local and the gateway…\n", m.name)
	e, err := startEnv(ctx, envOptions{noStream: o.noStream}, stderr)
	if err != nil {
		return err
	}
	defer e.close()
	fmt.Fprintf(report, "\n## %s\n\n%s\n\n", m.name, m.title)
	fmt.Fprintln(report, "| clients | path | requests | req/s | p50 | p99 | statuses | unexpected | lost | refused but applied |")
	fmt.Fprintln(report, "|---|---|---|---|---|---|---|---|---|---|")
	for level, c := range o.levels {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, p := range m.run(ctx, e, level, c, o.ops, stderr) {
			ops, rate, p50, p99 := p.rec.row()
			fmt.Fprintf(report, "| %d | %s | %d | %.0f | %s | %s | %s | %s | %d | %d |\n", c, p.name, ops, rate,
				ms(p50), ms(p99), p.rec.statuses(), p.rec.unexpectedText(), p.rec.lost, p.rec.refusedApplied)
			fmt.Fprintf(stderr, "  %-11s c=%-3d %-16s %5d req %7.0f/s p50 %8s p99 %8s %s lost %d\n", m.name, c, p.name, ops, rate,
				ms(p50), ms(p99), p.rec.statuses(), p.rec.lost)
		}
	}
	return nil
}

func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// rawPut2 is the raw counterpart of a customer write: two puts in one
// transaction, on keys of their own.
func rawPut2(ctx context.Context, e *loadEnv, key string) error {
	item := func(sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "LOAD#" + key},
			"SK": &types.AttributeValueMemberS{Value: sk}, "n": &types.AttributeValueMemberN{Value: "1"},
			"payload": &types.AttributeValueMemberS{Value: strings.Repeat("x", 300)}}
	}
	_, err := e.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &e.cfg.Table, Item: item("A")}},
		{Put: &types.Put{TableName: &e.cfg.Table, Item: item("B")}},
	}})
	return err
}

// writer is one independent writer's customer as the client knows it.
type writer struct {
	id      string
	version int
	company string
	// refused are the companies of PATCHes answered with an error.
	refused []string
	// unsettled are the companies of PATCHes cut off by their deadline
	// (503 or no answer) and not yet seen on file: a write cut off while
	// the database held it may commit once it answers again.
	unsettled []string
}

// deserves is what a request with the writer's If-Match deserves: status,
// or 412 as well while a write of its own cut off by the deadline may have
// committed since the writer last read the record, making its If-Match
// stale.
func (w *writer) deserves(status int) []int {
	if len(w.unsettled) > 0 {
		return []int{status, http.StatusPreconditionFailed}
	}
	return []int{status}
}

// writerRounds is how many requests an independent writer makes: its
// create and ten more, as at every concurrency, so that the share of
// creates (about thirteen items each, a PATCH about five) is the same in
// every row.
const writerRounds = 11

func mixIndependent(ctx context.Context, e *loadEnv, level, c, n int, _ io.Writer) []path {
	// Each client is a writer after another until it has made its share.
	k := max(1, (perClient(n, c)+writerRounds-1)/writerRounds)
	raw := newRecorder()
	e.settle(ctx)
	clients(c, raw, func(i int) {
		for j := range k * writerRounds {
			raw.timed(func() reply { return rawStatus(rawPut2(ctx, e, fmt.Sprintf("%d#%d#%d", level, i, j))) })
		}
	})
	api := newRecorder()
	admin := e.token("load-admin", "admin")
	seed := fmt.Sprintf("seed-%d@example.com", level)
	e.call(ctx, "POST", "/customers", admin, map[string]any{"name": "Seed Customer", "email": seed}, 0)
	e.settle(ctx)
	writers := independentRun(ctx, e, api, level, c, k, writerRounds, seed)
	checkWriters(ctx, e, api, writers)
	return []path{{"raw 2-put txn", raw}, {"API", api}}
}

// independentRun is the independent-writer workload: each of c clients is
// k writers in turn, each making rounds requests. It returns what each
// writer was told.
func independentRun(ctx context.Context, e *loadEnv, r *recorder, level, c, k, rounds int, seed string) []*writer {
	admin := e.token("load-admin", "admin")
	writers := make([]*writer, c*k)
	clients(c, r, func(i int) {
		for m := range k {
			writers[i*k+m] = independentWriter(ctx, e, r, admin, level, i*k+m, rounds, seed)
		}
	})
	return writers
}

// independentWriter creates customer i and sends it rounds-1 more requests.
func independentWriter(ctx context.Context, e *loadEnv, r *recorder, admin string, level, i, rounds int, seed string) *writer {
	w := &writer{}
	body := map[string]any{"name": fmt.Sprintf("Writer %d", i), "email": fmt.Sprintf("w%d-%d@example.com", level, i),
		"billing": map[string]any{"taxId": "DE123456789"}}
	// A 503 asks to come back later: a client does, a few times, with
	// the same Idempotency-Key, so that a create that was stored after
	// all is answered, not refused as a duplicate of itself.
	key := fmt.Sprintf("load-writer-%d-%d", level, i)
	var rep reply
	for attempt := range 5 {
		want := []int{http.StatusCreated}
		if attempt > 0 {
			// An attempt cut off by its deadline may still hold the key
			// ("in progress; retry shortly"), or have stored the
			// customer after all, whose email the retry then repeats.
			want = append(want, http.StatusConflict)
		}
		rep = r.timed(func() reply { return e.call(ctx, "POST", "/customers", admin, body, 0, "Idempotency-Key", key) }, want...)
		if rep.status != http.StatusServiceUnavailable && (attempt == 0 || rep.status != http.StatusConflict) {
			break
		}
		backoff(attempt + 4)
	}
	if rep.status != http.StatusCreated {
		return w
	}
	w.id, _ = rep.body["id"].(string)
	w.version = rep.version
	for j := 1; j < rounds; j++ {
		switch {
		case i%5 == 4 && j == 1:
			r.timed(func() reply {
				return e.call(ctx, "POST", "/customers", admin, map[string]any{"name": "Dup", "email": seed}, 0)
			}, http.StatusConflict)
		case j%7 == 3:
			r.timed(func() reply {
				return e.call(ctx, "PATCH", "/customers/"+w.id, admin, map[string]any{"email": "not an email"}, w.version)
			}, w.deserves(http.StatusBadRequest)...)
		case j%7 == 5:
			company := fmt.Sprintf("stale %d", j)
			rep := r.timed(func() reply {
				return e.call(ctx, "PATCH", "/customers/"+w.id, admin, map[string]any{"company": company}, max(1, w.version-1))
			}, http.StatusPreconditionFailed)
			if rep.status/100 != 2 {
				w.refused = append(w.refused, company)
			}
		default:
			company := fmt.Sprintf("Co %d-%d", i, j)
			rep := r.timed(func() reply {
				return e.call(ctx, "PATCH", "/customers/"+w.id, admin, map[string]any{"company": company}, w.version)
			}, w.deserves(http.StatusOK)...)
			switch rep.status {
			case http.StatusOK:
				w.version, w.company = rep.version, company
			case http.StatusServiceUnavailable, 0, http.StatusPreconditionFailed:
				// A write cut off by its deadline may still commit
				// once the database answers again: its outcome is
				// unknown, and the client reads the record again, as
				// it must before its next If-Match (and as it does
				// after a 412).
				if rep.status != http.StatusPreconditionFailed {
					w.unsettled = append(w.unsettled, company)
				}
				var cur reply
				for attempt := range 20 {
					if cur = r.timed(func() reply { return e.call(ctx, "GET", "/customers/"+w.id, admin, nil, 0) }, http.StatusOK); cur.status == http.StatusOK {
						break
					}
					backoff(attempt)
				}
				if cur.status == http.StatusOK {
					got, _ := cur.body["company"].(string)
					// This write or an earlier cut-off one is on file.
					if k := slices.Index(w.unsettled, got); k >= 0 {
						w.unsettled = slices.Delete(w.unsettled, k, k+1)
						r.mu.Lock()
						r.refusedApplied++
						r.mu.Unlock()
					}
					w.version, w.company = cur.version, got
				}
			default:
				w.refused = append(w.refused, company)
			}
		}
	}
	return w
}

// checkWriters compares each writer's customer with what it was told: a
// version or company other than the last acknowledged is a lost update; a
// refused company on file is a refused write applied.
func checkWriters(ctx context.Context, e *loadEnv, r *recorder, writers []*writer) {
	admin := e.token("load-admin", "admin")
	for _, w := range writers {
		if w == nil || w.id == "" {
			continue
		}
		rep := e.call(ctx, "GET", "/customers/"+w.id, admin, nil, 0)
		company, _ := rep.body["company"].(string)
		switch {
		case rep.status != http.StatusOK || rep.version < w.version:
			r.lost++
		case rep.version > w.version || company != w.company && (slices.Contains(w.refused, company) || slices.Contains(w.unsettled, company)):
			// A later write than the last acknowledged one is on file: one
			// answered with an error applied after all.
			r.refusedApplied++
		case company != w.company:
			r.lost++
		}
	}
}

func mixHot(ctx context.Context, e *loadEnv, level, c, n int, _ io.Writer) []path {
	incs := max(1, 32/c)
	// Raw: the same read-modify-write on one item.
	raw := newRecorder()
	key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: fmt.Sprintf("LOAD#hot#%d", level)}, "SK": &types.AttributeValueMemberS{Value: "A"}}
	_, _ = e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.cfg.Table, Item: map[string]types.AttributeValue{"PK": key["PK"], "SK": key["SK"],
		"n": &types.AttributeValueMemberN{Value: "0"}, "version": &types.AttributeValueMemberN{Value: "1"}}})
	var mu sync.Mutex
	rawAcked := 0
	e.settle(ctx)
	clients(c, raw, func(int) {
		for range incs {
			for attempt := 0; attempt < 40; attempt++ {
				var cur, ver int
				rep := raw.timed(func() reply {
					out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.cfg.Table, Key: key, ConsistentRead: aws.Bool(true)})
					if err == nil {
						cur, _ = strconv.Atoi(out.Item["n"].(*types.AttributeValueMemberN).Value)
						ver, _ = strconv.Atoi(out.Item["version"].(*types.AttributeValueMemberN).Value)
					}
					return rawStatus(err)
				})
				if rep.status != 200 {
					continue
				}
				rep = raw.timed(func() reply {
					_, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.cfg.Table, Item: map[string]types.AttributeValue{"PK": key["PK"], "SK": key["SK"],
						"n": &types.AttributeValueMemberN{Value: strconv.Itoa(cur + 1)}, "version": &types.AttributeValueMemberN{Value: strconv.Itoa(ver + 1)}},
						ConditionExpression:       aws.String("version = :v"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.Itoa(ver)}}})
					return rawStatus(err)
				})
				if rep.status == 200 {
					mu.Lock()
					rawAcked++
					mu.Unlock()
					break
				}
				backoff(attempt)
			}
		}
	})
	if out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.cfg.Table, Key: key, ConsistentRead: aws.Bool(true)}); err == nil {
		got, _ := strconv.Atoi(out.Item["n"].(*types.AttributeValueMemberN).Value)
		raw.lost = rawAcked - got
	}
	// API: a counter in the company field.
	api := newRecorder()
	admin := e.token("load-admin", "admin")
	created := e.call(ctx, "POST", "/customers", admin, map[string]any{"name": "Hot Customer", "company": "hot 0", "email": fmt.Sprintf("hot%d@example.com", level)}, 0)
	id, _ := created.body["id"].(string)
	acked := 0
	e.settle(ctx)
	clients(c, api, func(int) {
		for range incs {
			done := false
			for attempt := 0; attempt < 40 && !done; attempt++ {
				rep := api.timed(func() reply { return e.call(ctx, "GET", "/customers/"+id, admin, nil, 0) }, http.StatusOK)
				if rep.status != http.StatusOK {
					backoff(attempt)
					continue
				}
				company, _ := rep.body["company"].(string)
				cur, _ := strconv.Atoi(strings.TrimPrefix(company, "hot "))
				rep = api.timed(func() reply {
					return e.call(ctx, "PATCH", "/customers/"+id, admin, map[string]any{"company": fmt.Sprintf("hot %d", cur+1)}, rep.version)
				}, http.StatusOK, http.StatusPreconditionFailed)
				if rep.status == http.StatusOK {
					mu.Lock()
					acked++
					mu.Unlock()
					done = true
				} else {
					backoff(attempt)
				}
			}
			if !done {
				api.mu.Lock()
				api.gaveUp++
				api.mu.Unlock()
			}
		}
	})
	final := e.call(ctx, "GET", "/customers/"+id, admin, nil, 0)
	company, _ := final.body["company"].(string)
	got, _ := strconv.Atoi(strings.TrimPrefix(company, "hot "))
	switch {
	case got < acked:
		api.lost = acked - got
	case got > acked:
		api.refusedApplied = got - acked
	}
	return []path{{"raw get+cond put", raw}, {"API GET+PATCH", api}}
}

// backoff sleeps a jittered, growing interval, as a client resolving a 412
// should.
func backoff(attempt int) {
	ceiling := min(200*time.Millisecond, 5*time.Millisecond<<min(attempt, 6))
	time.Sleep(time.Duration(rand.Int64N(int64(ceiling))))
}

func mixComplaints(ctx context.Context, e *loadEnv, level, c, n int, _ io.Writer) []path {
	rounds := max(1, perClient(n, c)/4)
	raw := newRecorder()
	e.settle(ctx)
	clients(c, raw, func(i int) {
		for j := range rounds {
			key := fmt.Sprintf("%d#%d#%d", level, i, j)
			put := func(sk string) types.TransactWriteItem {
				return types.TransactWriteItem{Put: &types.Put{TableName: &e.cfg.Table, Item: map[string]types.AttributeValue{
					"PK": &types.AttributeValueMemberS{Value: "LOAD#comp#" + key}, "SK": &types.AttributeValueMemberS{Value: sk},
					"payload": &types.AttributeValueMemberS{Value: strings.Repeat("x", 300)}}}}
			}
			raw.timed(func() reply {
				_, err := e.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put("C"), put("TL#1"), put("TL#2"), put("N")}})
				return rawStatus(err)
			})
			for t := range 3 {
				raw.timed(func() reply {
					_, err := e.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put("C"), put(fmt.Sprintf("TL#%d", t+3))}})
					return rawStatus(err)
				})
			}
		}
	})
	admin := e.token("load-admin", "admin")
	var customers []string
	for k := range 8 {
		rep := e.call(ctx, "POST", "/customers", admin, map[string]any{"name": fmt.Sprintf("Complainer %d", k), "email": fmt.Sprintf("cc%d-%d@example.com", level, k)}, 0)
		if id, ok := rep.body["id"].(string); ok {
			customers = append(customers, id)
		}
	}
	api := newRecorder()
	type filed struct {
		id     string
		status string
	}
	var mu sync.Mutex
	var all []filed
	e.settle(ctx)
	clients(c, api, func(i int) {
		agent := e.token(fmt.Sprintf("agent-%d", i%4+1), "service")
		for j := range rounds {
			rep := api.timed(func() reply {
				return e.call(ctx, "POST", "/complaints", agent, map[string]any{"customerId": customers[(i+j)%len(customers)], "channel": "phone",
					"category": "billing", "severity": "medium", "subject": "Invoice wrong", "description": "Charged twice"}, 0)
			}, http.StatusCreated)
			if rep.status != http.StatusCreated {
				continue
			}
			f := filed{status: "acknowledged"}
			f.id, _ = rep.body["id"].(string)
			for _, to := range []string{"in_progress", "resolved", "closed"} {
				body := map[string]any{"to": to, "note": "load"}
				if to == "resolved" {
					body["resolution"] = map[string]any{"summary": "Refunded", "rootCause": "double charge", "remedy": "refund"}
				}
				rep := api.timed(func() reply { return e.call(ctx, "POST", "/complaints/"+f.id+"/transitions", agent, body, 0) }, http.StatusOK)
				if rep.status != http.StatusOK {
					break
				}
				f.status = to
			}
			mu.Lock()
			all = append(all, f)
			mu.Unlock()
		}
	})
	for _, f := range all {
		rep := e.call(ctx, "GET", "/complaints/"+f.id, admin, nil, 0)
		if s, _ := rep.body["status"].(string); s != f.status {
			api.lost++
		}
	}
	return []path{{"raw txns", raw}, {"API", api}}
}

// readSetup creates the customers the read mixes read: owned by one rep,
// with billing, so that an admin's read is audited.
func readSetup(ctx context.Context, e *loadEnv, level int) []string {
	admin := e.token("load-admin", "admin")
	var ids []string
	for k := range 20 {
		rep := e.call(ctx, "POST", "/customers", admin, map[string]any{"name": fmt.Sprintf("Reader %d", k), "ownerId": "rep-1",
			"email": fmt.Sprintf("r%d-%d@example.com", level, k), "billing": map[string]any{"taxId": "DE123456789"}}, 0)
		if id, ok := rep.body["id"].(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func rawGet(ctx context.Context, e *loadEnv, id string) reply {
	_, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.cfg.Table, ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "CUST#" + id}, "SK": &types.AttributeValueMemberS{Value: "PROFILE"}}})
	return rawStatus(err)
}

func mixReads(ctx context.Context, e *loadEnv, level, c, n int, _ io.Writer) []path {
	ids := readSetup(ctx, e, level)
	rounds := perClient(n, c)
	raw := newRecorder()
	e.settle(ctx)
	clients(c, raw, func(i int) {
		for j := range rounds {
			if j%2 == 0 {
				raw.timed(func() reply {
					_, err := e.db.Query(ctx, &dynamodb.QueryInput{TableName: &e.cfg.Table, IndexName: aws.String(dynamo.IndexByOwner),
						KeyConditionExpression:    aws.String("GSI1PK = :pk"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "OWNER#rep-1"}},
						ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(20)})
					return rawStatus(err)
				})
			} else {
				raw.timed(func() reply { return rawGet(ctx, e, ids[(i+j)%len(ids)]) })
			}
		}
	})
	api := newRecorder()
	rep := e.token("rep-1", "sales")
	e.settle(ctx)
	clients(c, api, func(i int) {
		for j := range rounds {
			if j%2 == 0 {
				api.timed(func() reply { return e.call(ctx, "GET", "/customers?limit=20", rep, nil, 0) }, http.StatusOK)
			} else {
				api.timed(func() reply { return e.call(ctx, "GET", "/customers/"+ids[(i+j)%len(ids)], rep, nil, 0) }, http.StatusOK)
			}
		}
	})
	return []path{{"raw query/get", raw}, {"API", api}}
}

func mixAudited(ctx context.Context, e *loadEnv, level, c, n int, _ io.Writer) []path {
	ids := readSetup(ctx, e, level)
	rounds := perClient(n, c)
	raw := newRecorder()
	e.settle(ctx)
	clients(c, raw, func(i int) {
		for j := range rounds {
			raw.timed(func() reply { return rawGet(ctx, e, ids[(i+j)%len(ids)]) })
		}
	})
	get := func(token string) *recorder {
		r := newRecorder()
		e.settle(ctx)
		clients(c, r, func(i int) {
			for j := range rounds {
				r.timed(func() reply { return e.call(ctx, "GET", "/customers/"+ids[(i+j)%len(ids)], token, nil, 0) }, http.StatusOK)
			}
		})
		return r
	}
	plain := get(e.token("rep-1", "sales"))
	audited := get(e.token("load-admin", "admin"))
	return []path{{"raw GetItem", raw}, {"API GET (rep)", plain}, {"API GET (admin, audited)", audited}}
}

// fault is one fault scenario: inject breaks a dependency for a while
// during an independent-writer run (or, for SNS, a complaint run).
type fault struct {
	name  string
	fakes bool
	run   func(ctx context.Context, e *loadEnv, r *recorder) string
}

func allFaults() []fault {
	// during breaks a dependency for length once the run has done a
	// quarter of its requests, so that the fault meets writers mid-run
	// (every client has its customer) rather than at their first request.
	during := func(length time.Duration, on, off func()) func(r *recorder, finished <-chan struct{}) {
		return func(r *recorder, finished <-chan struct{}) {
			for n := 0; n < 32*40/4; time.Sleep(10 * time.Millisecond) {
				select {
				case <-finished:
					return
				default:
				}
				r.mu.Lock()
				n = len(r.lat)
				r.mu.Unlock()
			}
			on()
			time.Sleep(length)
			off()
		}
	}
	writersUnder := func(inject func(e *loadEnv) func(*recorder, <-chan struct{})) func(ctx context.Context, e *loadEnv, r *recorder) string {
		return func(ctx context.Context, e *loadEnv, r *recorder) string {
			admin := e.token("load-admin", "admin")
			seed := "seed-faults@example.com"
			e.call(ctx, "POST", "/customers", admin, map[string]any{"name": "Seed Customer", "email": seed}, 0)
			done, finished := make(chan struct{}), make(chan struct{})
			go func() { inject(e)(r, finished); close(done) }()
			writers := independentRun(ctx, e, r, 0, 32, 1, 40, seed)
			close(finished)
			<-done
			checkWriters(ctx, e, r, writers)
			probe := e.call(ctx, "GET", "/customers?limit=1", admin, nil, 0)
			return fmt.Sprintf("a request after the fault: %d", probe.status)
		}
	}
	return []fault{
		{"DynamoDB Local paused (SIGSTOP) for 12 s", false, writersUnder(func(e *loadEnv) func(*recorder, <-chan struct{}) {
			return during(12*time.Second, e.inst.Pause, e.inst.Resume)
		})},
		{"KMS throttling (ThrottlingException) for 5 s", true, writersUnder(func(e *loadEnv) func(*recorder, <-chan struct{}) {
			return during(5*time.Second, func() { e.kms.FailWith("ThrottlingException", 400) }, e.kms.Up)
		})},
		{"KMS unreachable (connections dropped) for 5 s", true, writersUnder(func(e *loadEnv) func(*recorder, <-chan struct{}) {
			return during(5*time.Second, e.kms.Down, e.kms.Up)
		})},
		{"SNS unreachable for the whole run (complaint intake, 8 clients)", true, func(ctx context.Context, e *loadEnv, r *recorder) string {
			e.sns.Down()
			admin := e.token("load-admin", "admin")
			cust := e.call(ctx, "POST", "/customers", admin, map[string]any{"name": "Complainer", "email": "sns@example.com"}, 0)
			id, _ := cust.body["id"].(string)
			filed := 0
			var mu sync.Mutex
			clients(8, r, func(i int) {
				agent := e.token(fmt.Sprintf("agent-%d", i%4+1), "service")
				for range 5 {
					rep := r.timed(func() reply {
						return e.call(ctx, "POST", "/complaints", agent, map[string]any{"customerId": id, "channel": "phone",
							"category": "billing", "severity": "medium", "subject": "Invoice wrong", "description": "Charged twice"}, 0)
					}, http.StatusCreated)
					if rep.status == http.StatusCreated {
						mu.Lock()
						filed++
						mu.Unlock()
					}
				}
			})
			e.sns.Up()
			waiting := 0
			for _, pk := range []string{"NOTIFY#pending", "NOTIFY#failed"} {
				out, err := e.db.Query(ctx, &dynamodb.QueryInput{TableName: &e.cfg.Table, IndexName: aws.String(dynamo.IndexByDue),
					KeyConditionExpression:    aws.String("GSI4PK = :pk"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}, Select: types.SelectCount})
				if err == nil {
					waiting += int(out.Count)
				}
			}
			return fmt.Sprintf("%d complaints filed; %d notifications published; %d waiting in the outbox (pending or failed)", filed, len(e.sns.Published()), waiting)
		}},
	}
}

func runFaults(ctx context.Context, o loadOptions, report io.Writer, stderr io.Writer) error {
	fmt.Fprintln(report, "| fault | requests | 2xx | 503 | other 4xx (deserved) | unexpected | no answer | 503 without Retry-After | lost | refused but applied | p99 | after |")
	fmt.Fprintln(report, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range allFaults() {
		fmt.Fprintf(stderr, "fault %s: starting…\n", f.name)
		e, err := startEnv(ctx, envOptions{fakes: f.fakes}, stderr)
		if err != nil {
			return err
		}
		r := newRecorder()
		note := f.run(ctx, e, r)
		e.close()
		ops, _, _, p99 := r.row()
		ok, unavailable, other, none := 0, 0, 0, 0
		for s, n := range r.status {
			switch {
			case s/100 == 2:
				ok += n
			case s == http.StatusServiceUnavailable:
				unavailable += n
			case s == 0:
				none += n
			default:
				other += n - r.unexpectedBy[s] // deserved ones only
			}
		}
		line := fmt.Sprintf("| %s | %d | %d | %d | %d | %s | %d | %d | %d | %d | %s | %s |", f.name, ops, ok, unavailable, other, r.unexpectedText(), none, r.noRetry, r.lost, r.refusedApplied, ms(p99), note)
		fmt.Fprintln(report, line)
		fmt.Fprintln(stderr, " ", line)
	}
	return nil
}
