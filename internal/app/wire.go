package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/auditkey"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	domain "github.com/clientele-crm/clientele/internal/events"
	"github.com/clientele-crm/clientele/internal/notify"
	"github.com/clientele-crm/clientele/internal/webhooks"
)

// Function says what one process serves and which optional edges it links.
// Each functions/<name>/main.go fills in only the edges its routes and
// events use: a function that never parses a phone number does not link
// the numbering plan's metadata, and one that sends no notification does
// not link SNS.
type Function struct {
	// Name is the function whose routes and events are served; "" serves
	// everything (the local runtime, the CLI and the tests).
	Name string
	// ParsePhone parses phone numbers as people type them (phone.E164).
	// Without it, only canonical stored numbers are accepted
	// (crm.CanonicalE164).
	ParsePhone func(raw, region string) (string, error)
	// Publisher opens the notifier of an SNS topic (snsnotify.New), used on
	// AWS when TOPIC_ARN is set. Without one the function sends nothing on
	// AWS; locally notifications go to the outbox file.
	Publisher func(cfg aws.Config, topicARN string) crm.Notifier
	// ImportQueue opens the background import's queue (importqueue.New),
	// used on AWS when IMPORT_QUEUE_URL is set.
	ImportQueue func(cfg aws.Config, url string) crm.ImportQueue
	// Events opens the publisher of the domain events on AWS
	// (eventbus.New), used when EVENT_BUS_NAME or WEBHOOK_QUEUE_URL is
	// set. Only the stream consumer (reports) derives events.
	Events func(cfg aws.Config, bus, queueURL string) func(context.Context, []domain.Event) error
	// DisposableDomain judges email domains (disposable.Listed), for the
	// functions that write customer records.
	DisposableDomain func(domain string) bool
	// CanonicalLanguage canonicalizes language tags (langtag.Canonical),
	// for the functions that write customers' languages; the others check
	// a stored tag by its form.
	CanonicalLanguage func(tag string) (string, bool)
	// Routes make the handlers of the function's routes
	// (api.CustomersRoutes and the like; api.AllRoutes for everything).
	// Only the makers named here are linked, and a route of the function
	// without one stops it at startup.
	Routes api.Makers
	// Lambda is the function's entry for events other than its routes'
	// (RemindersLambda, ReportsLambda, ImportsLambda, WebhooksLambda): it
	// gets the function's services and its route handler, and returns
	// what the Lambda runtime invokes. Without one the function serves
	// only its routes.
	Lambda func(svc *Services, routes *api.Handler) any
	// AWSChain resolves the SDK configuration through the default chain
	// (awschain.Load: profiles, SSO), for the CLI and the local runtime,
	// from the region, retryer and HTTP client it is given. A Lambda
	// function has none: its credentials are in its environment, so it
	// links none of the other providers.
	AWSChain func(ctx context.Context, base aws.Config) (aws.Config, error)
}

// serves reports whether f serves the routes or events of function.
func (f Function) serves(function string) bool { return f.Name == "" || f.Name == function }

// Services is what one process built: the table, the services behind the
// API, and the policy the report aggregates count by.
type Services struct {
	Table *dynamo.Table
	API   api.Services
	// ReportPolicy is the customer policy the report aggregates count by,
	// wherever they are counted (stream, rebuild): it checks stored phone
	// numbers by form only, so counting never depends on which phone
	// parser a process links.
	ReportPolicy crm.Policy
	// Out receives the KPI metrics in Embedded Metric Format (stdout).
	Out io.Writer
	// DB is the DynamoDB client the table uses.
	DB dynamo.DB
	// Stage is Config.Stage, the KPIs' dimension.
	Stage string
	// AuditKey signs and verifies the audit digests; nil when the process
	// has none (the tests' edges, unless they give one).
	AuditKey auditkey.Key
	// DigestSettle is how far behind the clock a digest's window ends.
	DigestSettle time.Duration
	// ImportMaxReceive is Config.ImportMaxReceive.
	ImportMaxReceive int
	// DormantAfter is Config.DormantAfter, by which the stream derives
	// customers' activity.
	DormantAfter time.Duration
	// Webhooks registers endpoints and delivers events to them; Events
	// publishes the domain events the stream consumer derives (events.go).
	Webhooks *webhooks.Service
	Events   Publisher
}

// Edges are the clients a process runs against, made by Open on AWS and
// by the local runtime and the tests otherwise.
type Edges struct {
	DB      dynamo.DB
	Keyring envelope.Keyring
	// LegacyKeyring unwraps envelopes sealed before field envelopes had
	// a key of their own; nil when Keyring wrapped them.
	LegacyKeyring envelope.Keyring
	Notifier      crm.Notifier
	Logger        *slog.Logger
	Out           io.Writer
	// AuditKey signs the audit digests (KMS on AWS, a file locally).
	AuditKey auditkey.Key
	// ImportQueue carries background import tasks (SQS on AWS); nil runs
	// them in this process, as the local runtime and the tests do.
	ImportQueue crm.ImportQueue
	// Events publishes the domain events on AWS (the bus and the webhooks
	// queue); nil locally, where the stream consumer fans them out itself.
	Events Publisher
}

// With returns c with the rules fn links: its phone parser, its judge of
// disposable email domains and its canonical language tags (and so the
// canonical DEFAULT_LANGUAGE).
func (c Config) With(fn Function) Config {
	if fn.ParsePhone != nil {
		c.Policy.ParsePhone = fn.ParsePhone
	}
	c.Policy.DisposableDomain = fn.DisposableDomain
	if fn.CanonicalLanguage != nil {
		c.Policy.CanonicalLanguage = fn.CanonicalLanguage
		if tag, ok := fn.CanonicalLanguage(c.Surveys.DefaultLanguage); ok {
			c.Surveys.DefaultLanguage = tag
		}
	}
	return c
}

// Build wires the services fn needs over edges. It is the one composition
// root: the functions, the local runtime and the tests all come through it.
func Build(ctx context.Context, cfg Config, fn Function, e Edges) (*Services, error) {
	cfg = cfg.With(fn)
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	table, err := dynamo.Open(ctx, dynamo.Config{DB: e.DB, Table: cfg.Table, AuditTable: cfg.AuditTable, Keyring: e.Keyring, LegacyKeyring: e.LegacyKeyring, KeyRefresh: cfg.KeyRefresh, Cache: cfg.Cache, Retention: cfg.Retention})
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	svc := &Services{Table: table, DB: e.DB, Out: e.Out, ReportPolicy: cfg.Policy, Stage: cfg.Stage,
		AuditKey: e.AuditKey, DigestSettle: cfg.DigestSettle(), ImportMaxReceive: cfg.ImportMaxReceive, DormantAfter: cfg.DormantAfter}
	svc.ReportPolicy.ParsePhone = crm.CanonicalE164
	audit := table.AuditLog()
	s := api.Services{Audit: audit, AuditVerifications: audit, Access: table.AccessLog(), Idempotency: table.Idempotency(), Health: table.Ping, Logger: e.Logger, Now: time.Now,
		Timeout: cfg.FunctionTimeout, Clients: api.ClientLimit{Store: table.PortalLinks(), PerMinute: cfg.ClientRateLimit}}
	// Customers back the customer routes, and the self-service links that
	// the reminder run sends.
	if fn.serves(api.FnCustomers) || fn.serves(api.FnReminders) || fn.serves(api.FnImports) {
		s.Customers = &crm.Customers{Store: table.Customers(), Complaints: table.Complaints(), Audit: audit,
			Policy: cfg.Policy, Now: time.Now, NewID: NewID, Writes: table.Aggregates(), Access: s.Access, Dropped: dropped(e.Logger),
			LostReasons: cfg.LostReasons, ConsentLog: table.Customers(), FourEyes: cfg.FourEyes, Approvals: table.Approvals()}
		s.Merges = &crm.Merges{Customers: s.Customers, Store: table.Customers(), UndoTTL: cfg.MergeUndoTTL}
		s.Approvals = &crm.Approvals{Customers: s.Customers, Appliers: map[string]crm.Applier{crm.ApprovalMerge: s.Merges.Apply}}
		s.Portal = &crm.Portal{Customers: s.Customers, Store: table.PortalLinks(), Tokens: table.PortalTokens(),
			BaseURL: cfg.PortalBaseURL, TTL: cfg.PortalTTL}
		s.Duplicates = &crm.Duplicates{Store: table.Customers()}
		s.BulkReassign = &crm.BulkReassign{Store: table.Customers(), Now: time.Now}
	}
	if fn.serves(api.FnCustomers) || fn.serves(api.FnImports) {
		s.Imports = newImports(table, s.Customers, cfg, e)
	}
	// Surveys are sent by resolutions, answered through the complaint
	// routes, and redelivered by the reminder run.
	if fn.serves(api.FnComplaints) || fn.serves(api.FnReminders) {
		s.Surveys = &crm.Surveys{Store: table.Surveys(), Complaints: table.Complaints(), Tokens: table.SurveyTokens(),
			BaseURL: cfg.Surveys.BaseURL, TTL: cfg.Surveys.TTL, DefaultLanguage: cfg.Surveys.DefaultLanguage,
			EscalateTo: cfg.Breach.EscalateTo, Notifier: e.Notifier, Now: time.Now}
	}
	if fn.serves(api.FnComplaints) {
		s.Complaints = &crm.Complaints{Store: table.Complaints(), Customers: table.Customers(), Policy: cfg.Policy, SLA: cfg.SLA,
			Assignment: cfg.Assignment, Categories: cfg.Categories, Notifier: e.Notifier, Now: time.Now, NewID: NewID, Surveys: s.Surveys}
	}
	if fn.serves(api.FnReminders) {
		s.Reminders = &crm.Reminders{Store: table.Reminders(), Customers: table.Customers(), Portal: s.Portal,
			SLA: cfg.SLA, Breach: cfg.Breach, Notifier: e.Notifier, Now: time.Now, Surveys: s.Surveys}
	}
	if fn.serves(api.FnReports) {
		s.Reports = &crm.Reports{Store: table.Aggregates(), Targets: cfg.Targets, QualityPeriod: cfg.QualityPeriod, Now: time.Now,
			AccessLog: table.AccessLog(), AccessThreshold: cfg.AccessThreshold, SatisfactionTarget: cfg.Surveys.Target}
	}
	svc.API = s
	buildWebhooks(cfg, fn, e, table, svc)
	if e.Events != nil {
		svc.Events = e.Events
	}
	return svc, nil
}

// dropped logs a best-effort record that failed: the request it belongs
// to was answered as if it had not.
func dropped(log *slog.Logger) func(ctx context.Context, what string, err error) {
	return func(ctx context.Context, what string, err error) {
		log.LogAttrs(ctx, slog.LevelWarn, "record dropped", slog.String("what", what), slog.String("error", err.Error()))
	}
}

// Open makes the edges of a function on AWS, or against DynamoDB Local
// when DYNAMODB_ENDPOINT is set: the DynamoDB client, the keyring and the
// notifier.
func Open(ctx context.Context, cfg Config, fn Function, stdout, stderr io.Writer) (Edges, error) {
	log := cfg.Logger(stderr)
	awsCfg, err := cfg.AWS(ctx, fn)
	if err != nil {
		return Edges{}, err
	}
	e := Edges{DB: dynamo.Client(cfg.DynamoDB(awsCfg)), Logger: log, Out: stdout}
	if e.Keyring, err = cfg.OpenKeyring(awsCfg); err != nil {
		return Edges{}, err
	}
	if cfg.Keyring == "kms" && cfg.LegacyKMSKeyID != "" && cfg.LegacyKMSKeyID != cfg.KMSKeyID {
		e.LegacyKeyring = envelope.NewKMSKeyring(envelope.KMSClient(kms.NewFromConfig(awsCfg)), cfg.LegacyKMSKeyID)
	}
	if e.AuditKey, err = cfg.OpenAuditKey(awsCfg); err != nil {
		return Edges{}, err
	}
	if cfg.ImportQueueURL != "" && fn.ImportQueue != nil {
		e.ImportQueue = fn.ImportQueue(awsCfg, cfg.ImportQueueURL)
	}
	if (cfg.Webhooks.EventBus != "" || cfg.Webhooks.QueueURL != "") && fn.Events != nil {
		e.Events = fn.Events(awsCfg, cfg.Webhooks.EventBus, cfg.Webhooks.QueueURL)
	}
	switch {
	case cfg.TopicARN != "" && fn.Publisher != nil:
		// Retrying owns the retries, and only for failures worth retrying.
		e.Notifier = notify.NewRetrying(fn.Publisher(awsCfg, cfg.TopicARN), notify.RetryOptions{
			Retryable: notify.Unavailable,
		})
	case cfg.TopicARN == "":
		e.Notifier = notify.NewRetrying(notify.NewOutbox(filepath.Join(cfg.StateDir, "outbox.jsonl"), log), notify.RetryOptions{})
	}
	return e, nil
}

// Logger returns the JSON logger every process uses, writing to w. On a
// deployed stage every line names the stage, which the stack's log metric
// filters use as their dimension.
func (c Config) Logger(w io.Writer) *slog.Logger {
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: c.LogLevel}))
	if c.Stage != "" {
		log = log.With(slog.String("stage", c.Stage))
	}
	return log
}

// AWS returns the SDK configuration fn runs with: for DynamoDB Local
// (Endpoint set), the configured region and dummy credentials; else
// fn.AWSChain's when it has one (the CLI and the local runtime); else, as
// a Lambda function, the configured region and the credentials the Lambda
// runtime puts in the environment. Every client made from it retries in
// the standard mode — at most 3 attempts, exponential back-off with full
// jitter capped at 1 s, throttling and transient faults only — and gives
// each attempt CallTimeout; the request's deadline bounds them all.
func (c Config) AWS(ctx context.Context, fn Function) (aws.Config, error) {
	cfg := aws.Config{Region: c.Region,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = time.Second
				// The client-side retry quota would turn a burst of
				// conflicts into refusals of our own; attempts and the
				// deadline already bound the work.
				o.RateLimiter = ratelimit.None
			})
		},
		HTTPClient: awshttp.NewBuildableClient().WithTimeout(c.CallTimeout()).WithTransportOptions(func(t *http.Transport) {
			// As many idle connections as concurrent callers a process
			// (the local gateway, the load run) may have, so that a burst
			// reuses connections rather than opening new ones.
			t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
		}),
	}
	switch getenv := c.env(); {
	case c.Endpoint != "":
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	case fn.AWSChain != nil:
		return fn.AWSChain(ctx, cfg)
	case getenv("AWS_ACCESS_KEY_ID") == "" || getenv("AWS_SECRET_ACCESS_KEY") == "":
		return aws.Config{}, errors.New("load AWS config: no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
	default:
		cfg.Credentials = credentials.NewStaticCredentialsProvider(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))
	}
	return cfg, nil
}

// DynamoDB returns a DynamoDB client of awsCfg, pointed at DynamoDB Local
// when Endpoint is set.
func (c Config) DynamoDB(awsCfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			// DynamoDB Local's error responses carry a CRC32 the SDK
			// cannot check without reading them whole; the warnings are
			// noise.
			o.DisableValidateResponseChecksum = true
		}
	})
}

// OpenKeyring returns the KMS keyring on AWS and the file-backed keyring
// locally.
func (c Config) OpenKeyring(awsCfg aws.Config) (envelope.Keyring, error) {
	if c.Keyring == "kms" {
		return envelope.NewKMSKeyring(envelope.KMSClient(kms.NewFromConfig(awsCfg)), c.KMSKeyID), nil
	}
	return envelope.OpenLocalKeyring(filepath.Join(c.StateDir, "keyring.json"))
}

// OpenAuditKey returns the key that signs the audit digests: the KMS key
// AUDIT_SIGNING_KEY_ID names on AWS, else the local key file (created on
// first use).
func (c Config) OpenAuditKey(awsCfg aws.Config) (auditkey.Key, error) {
	if c.AuditKeyID != "" {
		return auditkey.NewKMS(auditkey.KMSClient(kms.NewFromConfig(awsCfg)), c.AuditKeyID), nil
	}
	if c.Keyring == "kms" {
		return nil, nil // on AWS without a signing key: no digests
	}
	return auditkey.OpenFile(filepath.Join(c.StateDir, "audit-signing-key.pem"))
}

// WriteDigest writes the next audit digest as of now, and logs it.
func WriteDigest(ctx context.Context, svc *Services, now time.Time) (*dynamo.Digest, error) {
	if svc.AuditKey == nil {
		return nil, errors.New("no audit signing key configured")
	}
	d, err := svc.Table.AuditLog().WriteDigest(ctx, svc.AuditKey, now, svc.DigestSettle)
	if err != nil {
		svc.API.Logger.LogAttrs(ctx, slog.LevelError, "audit digest failed", slog.String("error", err.Error()))
		return nil, err
	}
	if d != nil {
		svc.API.Logger.LogAttrs(ctx, slog.LevelInfo, "audit digest", slog.Int64("seq", d.Seq), slog.Int("heads", d.Heads), slog.Time("to", d.To))
	}
	return d, nil
}

// ServeLambda is what every function's main does: it reads the
// configuration from env, builds fn's services and serves fn's events
// as a Lambda until the runtime stops it.
func ServeLambda(ctx context.Context, env Environ, fn Function, stdout, stderr io.Writer) error {
	cfg, err := LoadEnviron(env)
	if err != nil {
		return err
	}
	edges, err := Open(ctx, cfg, fn, stdout, stderr)
	if err != nil {
		return err
	}
	svc, err := Build(ctx, cfg, fn, edges)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(Handler(svc, fn), lambda.WithContext(ctx))
	return nil
}

// Handler returns the Lambda handler of fn: API Gateway requests for its
// routes, through fn.Lambda when it takes other events too.
func Handler(svc *Services, fn Function) any {
	h := api.NewHandler(svc.API, fn.Name, fn.Routes)
	if fn.Lambda != nil {
		return fn.Lambda(svc, h)
	}
	return h.Invoke
}

// VerifyAudit walks the audit trail and records the outcome, which
// GET /audit/verify serves. A verification that could not finish is not
// recorded: it covered nothing.
func VerifyAudit(ctx context.Context, svc *Services, now time.Time) (dynamo.VerifyReport, crm.AuditVerification, error) {
	log := svc.Table.AuditLog()
	rep, err := log.VerifyAudit(ctx, svc.AuditKey)
	if err != nil {
		return rep, crm.AuditVerification{}, err
	}
	v := crm.AuditVerification{Status: crm.VerifyIntact, At: now.UTC(), Entries: rep.Entries, Chains: rep.Chains, Digests: rep.Digests,
		Unsigned: rep.Unsigned, Breaks: len(rep.Breaks)}
	if len(rep.Breaks) > 0 {
		v.Status, v.FirstBreak = crm.VerifyBroken, rep.Breaks[0].String()
	}
	return rep, v, log.RecordVerification(ctx, v)
}
