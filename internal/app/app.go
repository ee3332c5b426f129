// Package app reads Clientele's configuration and wires the store, the
// keyring and the services together, once, for every function and for the
// local runtime.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // SLA time zones on Lambda's minimal image

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/notify"
	"github.com/clientele-crm/clientele/internal/phone"
)

// Config is everything configurable, read from the environment.
type Config struct {
	// Table is the DynamoDB table name (TABLE_NAME).
	Table string
	// AuditTable holds the audit log (AUDIT_TABLE_NAME).
	AuditTable string
	// Retention bounds how long closed complaints, interactions and
	// tombstones are kept.
	Retention dynamo.Retention
	// Endpoint points at DynamoDB Local (DYNAMODB_ENDPOINT); empty on AWS.
	Endpoint string
	// Keyring is "kms" on AWS (KMS_KEY_ID names the key) or "local".
	Keyring  string
	KMSKeyID string
	// StateDir holds the local runtime's keys (CLIENTELE_STATE_DIR).
	StateDir string
	Policy   crm.Policy
	Cache    envelope.Options
	LogLevel slog.Level
	// SLA, Assignment and Categories govern complaints.
	SLA        crm.SLAPolicy
	Assignment crm.Assignment
	Categories []string
	// PortalBaseURL prefixes self-service tokens (PORTAL_BASE_URL);
	// PortalTTL is how long a link lives (PORTAL_LINK_TTL).
	PortalBaseURL string
	PortalTTL     time.Duration
	// TopicARN is the SNS topic notifications go to (TOPIC_ARN); locally,
	// with none, they go to the outbox file in StateDir.
	TopicARN string
	// Breach is what the reminder run does to a complaint past its SLA
	// (SLA_BREACH_ESCALATE, SLA_ESCALATE_TO).
	Breach crm.BreachPolicy
	// Targets are the data-quality targets (QUALITY_TARGETS); refused
	// writes count over QualityPeriod (QUALITY_PERIOD).
	Targets       crm.Targets
	QualityPeriod time.Duration
	// ReminderInterval is how often the local runtime runs the reminder
	// job (REMINDER_INTERVAL; "off" never). On AWS the schedule does.
	ReminderInterval time.Duration
	// Stage names the deployment (STAGE), set by the stack; it is the
	// dimension of the published KPIs, so that two stages in one account
	// do not trip each other's alarms. Empty locally.
	Stage string
}

// Load reads the configuration from getenv. Every problem is reported at
// once.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Table:      or(getenv("TABLE_NAME"), "clientele"),
		AuditTable: or(getenv("AUDIT_TABLE_NAME"), "clientele-audit"),
		Retention: dynamo.Retention{
			ClosedComplaints: 3 * 365 * 24 * time.Hour,
			Interactions:     5 * 365 * 24 * time.Hour,
			Tombstones:       7 * 365 * 24 * time.Hour,
		},
		Endpoint:         getenv("DYNAMODB_ENDPOINT"),
		Keyring:          or(getenv("KEYRING"), "local"),
		KMSKeyID:         getenv("KMS_KEY_ID"),
		StateDir:         or(getenv("CLIENTELE_STATE_DIR"), ".clientele"),
		Policy:           crm.DefaultPolicy(phone.E164),
		TopicARN:         getenv("TOPIC_ARN"),
		PortalBaseURL:    or(getenv("PORTAL_BASE_URL"), "http://127.0.0.1:"+or(getenv("PORT"), "8080")+"/portal"),
		PortalTTL:        7 * 24 * time.Hour,
		SLA:              crm.DefaultSLAPolicy(),
		Assignment:       crm.Assignment{Mode: crm.AssignOwner},
		Categories:       crm.DefaultCategories,
		Breach:           crm.BreachPolicy{Escalate: true, EscalateTo: getenv("SLA_ESCALATE_TO")},
		ReminderInterval: 15 * time.Minute,
		Targets:          crm.DefaultTargets,
		QualityPeriod:    30 * 24 * time.Hour,
		Stage:            getenv("STAGE"),
	}
	if getenv("PORTAL_BASE_URL") == "" && c.Keyring == "kms" {
		// On AWS the portal's host is the deployment's own choice; without
		// it, links are paths the client puts its host before.
		c.PortalBaseURL = "/portal"
	}
	var errs []string
	errs = append(errs, c.loadComplaintSettings(getenv)...)
	if v := getenv("PHONE_REGION"); v != "" {
		c.Policy.PhoneRegion = strings.ToUpper(v)
		if _, err := phone.E164("+14155552671", c.Policy.PhoneRegion); len(v) != 2 || err != nil {
			errs = append(errs, "PHONE_REGION must be an ISO 3166-1 alpha-2 region")
		}
	}
	if v := getenv("REQUIRED_FIELDS"); v != "" {
		c.Policy.Required = nil
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(crm.PolicyFields, f) {
				errs = append(errs, fmt.Sprintf("REQUIRED_FIELDS: %q is not one of %s", f, strings.Join(crm.PolicyFields, ", ")))
			}
			c.Policy.Required = append(c.Policy.Required, f)
		}
	}
	if v := getenv("REVIEW_PERIOD"); v != "" {
		d, err := ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, "REVIEW_PERIOD must be a positive duration such as 180d or 72h")
		}
		c.Policy.ReviewPeriod = d
	}
	if v := getenv("REVIEW_PERIODS"); v != "" {
		periods, err := parseSegmentPeriods(v)
		if err != nil {
			errs = append(errs, "REVIEW_PERIODS: "+err.Error())
		}
		c.Policy.SegmentReviewPeriods = periods
	}
	if v := getenv("QUALITY_TARGETS"); v != "" {
		if err := parseTargets(v, &c.Targets); err != nil {
			errs = append(errs, "QUALITY_TARGETS: "+err.Error())
		}
	}
	if v := getenv("QUALITY_PERIOD"); v != "" {
		d, err := ParseDuration(v)
		if err != nil || d < 24*time.Hour {
			errs = append(errs, "QUALITY_PERIOD must be a whole number of days, such as 30d")
		}
		c.QualityPeriod = d
	}
	switch v := getenv("REMINDER_INTERVAL"); v {
	case "":
	case "off", "0":
		c.ReminderInterval = 0
	default:
		d, err := ParseDuration(v)
		if err != nil || d < time.Minute {
			errs = append(errs, "REMINDER_INTERVAL must be a duration of a minute or more, or off")
		}
		c.ReminderInterval = d
	}
	for _, r := range []struct {
		env string
		d   *time.Duration
	}{{"RETENTION_CLOSED_COMPLAINTS", &c.Retention.ClosedComplaints}, {"RETENTION_INTERACTIONS", &c.Retention.Interactions}, {"RETENTION_TOMBSTONES", &c.Retention.Tombstones}} {
		if v := getenv(r.env); v != "" {
			d, err := ParseDuration(v)
			if err != nil || d < 0 {
				errs = append(errs, r.env+" must be a duration such as 1095d, or 0 to keep for ever")
			}
			*r.d = d
		}
	}
	if v := getenv("PORTAL_LINK_TTL"); v != "" {
		d, err := ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, "PORTAL_LINK_TTL must be a positive duration such as 7d")
		}
		c.PortalTTL = d
	}
	if v := getenv("DATA_KEY_MAX_AGE"); v != "" {
		d, err := ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, "DATA_KEY_MAX_AGE must be a positive duration")
		}
		c.Cache.MaxAge = d
	}
	if v := getenv("DATA_KEY_MAX_ITEMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, "DATA_KEY_MAX_ITEMS must be a positive integer")
		}
		c.Cache.MaxItems = n
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, "LOG_LEVEL must be debug, info, warn or error")
		}
	}
	switch c.Keyring {
	case "kms":
		if c.KMSKeyID == "" {
			errs = append(errs, "KEYRING=kms needs KMS_KEY_ID")
		}
	case "local":
	default:
		errs = append(errs, "KEYRING must be kms or local")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// loadComplaintSettings reads the SLA, assignment and category settings.
func (c *Config) loadComplaintSettings(getenv func(string) string) []string {
	var errs []string
	cal, err := crm.ParseCalendar(or(getenv("SLA_CLOCK"), "calendar"), getenv("SLA_TIMEZONE"),
		or(getenv("SLA_WORKDAYS"), "Mon-Fri"), or(getenv("SLA_HOURS"), "09:00-18:00"), getenv("SLA_HOLIDAYS"))
	if err != nil {
		errs = append(errs, err.Error())
	}
	c.SLA.Calendar = cal
	if v := getenv("SLA_RESOLVE"); v != "" {
		if c.SLA.Resolve, err = crm.ParseSLATargets(v); err != nil {
			errs = append(errs, "SLA_RESOLVE: "+err.Error())
		}
	}
	if v := getenv("SLA_ACKNOWLEDGE"); v != "" {
		if c.SLA.Acknowledge, err = crm.ParseSLATargets(v); err != nil {
			errs = append(errs, "SLA_ACKNOWLEDGE: "+err.Error())
		}
	}
	if v := getenv("SLA_WARN_AT"); v != "" {
		pct, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		if err != nil || pct < 1 || pct > 99 {
			errs = append(errs, "SLA_WARN_AT must be a percentage from 1 to 99, such as 75%")
		}
		c.SLA.WarnAt = float64(pct) / 100
	}
	switch v := getenv("SLA_BREACH_ESCALATE"); v {
	case "", "true":
	case "false":
		c.Breach.Escalate = false
	default:
		errs = append(errs, "SLA_BREACH_ESCALATE must be true or false")
	}
	if v := getenv("SERVICE_AGENTS"); v != "" {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.Assignment.Agents = append(c.Assignment.Agents, a)
			}
		}
		c.Assignment.Mode = crm.AssignRoundRobin
	}
	switch v := getenv("ASSIGNMENT"); v {
	case "":
	case crm.AssignOwner, crm.AssignRoundRobin:
		c.Assignment.Mode = v
	default:
		errs = append(errs, "ASSIGNMENT must be owner or round_robin")
	}
	if c.Assignment.Mode == crm.AssignRoundRobin && len(c.Assignment.Agents) == 0 {
		errs = append(errs, "ASSIGNMENT=round_robin needs SERVICE_AGENTS")
	}
	if v := getenv("COMPLAINT_CATEGORIES"); v != "" {
		c.Categories = nil
		for _, cat := range strings.Split(v, ",") {
			cat = strings.ToLower(strings.TrimSpace(cat))
			if !crm.ValidCategory(cat) {
				errs = append(errs, fmt.Sprintf("COMPLAINT_CATEGORIES: %q is not a valid category name", cat))
			}
			c.Categories = append(c.Categories, cat)
		}
	}
	return errs
}

// parseTargets reads data-quality targets such as
// "completeness=95%,timeliness=98%,duplicates=3%,invalid=2%"; targets not
// named keep their value.
func parseTargets(s string, t *crm.Targets) error {
	fields := map[string]*float64{"completeness": &t.Completeness, "timeliness": &t.Timeliness, "duplicates": &t.Duplicates, "invalid": &t.Invalid}
	for _, item := range strings.Split(s, ",") {
		name, pct, ok := strings.Cut(strings.TrimSpace(item), "=")
		f, known := fields[strings.TrimSpace(name)]
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
		if !ok || !known || err != nil || v < 0 || v > 100 {
			return fmt.Errorf("%q is not name=percent with a name of completeness, timeliness, duplicates, invalid", item)
		}
		*f = v / 100
	}
	return nil
}

// parseSegmentPeriods reads review periods per segment, such as
// "vip=90d,smb=365d".
func parseSegmentPeriods(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, item := range strings.Split(s, ",") {
		seg, dur, ok := strings.Cut(strings.TrimSpace(item), "=")
		seg = strings.ToLower(strings.TrimSpace(seg))
		d, err := ParseDuration(strings.TrimSpace(dur))
		if !ok || seg == "" || err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not segment=duration, such as vip=90d", item)
		}
		if _, dup := out[seg]; dup {
			return nil, fmt.Errorf("segment %q is given twice", seg)
		}
		out[seg] = d
	}
	return out, nil
}

// ParseDuration reads a Go duration or a whole number of days ("180d").
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Logger returns the JSON logger every process uses.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// DynamoDB returns a client for the configured endpoint: DynamoDB Local with
// dummy credentials when Endpoint is set, the AWS default chain otherwise.
func (c Config) DynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	if c.Endpoint != "" {
		cfg, err := config.LoadDefaultConfig(ctx,
			config.WithRegion(or(os.Getenv("AWS_REGION"), "us-east-1")),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		if err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(c.Endpoint)
			// DynamoDB Local's error responses carry a CRC32 the SDK cannot
			// check without reading them whole; the warnings are noise.
			o.DisableValidateResponseChecksum = true
		}), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg), nil
}

// LocalStreams returns a DynamoDB Streams client of DynamoDB Local, which
// serves the Streams API on its own endpoint. On AWS, Lambda's event source
// mapping reads the stream instead.
func (c Config) LocalStreams(ctx context.Context) (*dynamodbstreams.Client, error) {
	if c.Endpoint == "" {
		return nil, fmt.Errorf("the local stream needs DYNAMODB_ENDPOINT")
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(or(os.Getenv("AWS_REGION"), "us-east-1")),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(c.Endpoint) }), nil
}

// OpenKeyring returns the KMS keyring on AWS and the file-backed keyring
// locally.
func (c Config) OpenKeyring(ctx context.Context) (envelope.Keyring, error) {
	if c.Keyring == "kms" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
		return envelope.NewKMSKeyring(kms.NewFromConfig(cfg), c.KMSKeyID), nil
	}
	return envelope.OpenLocalKeyring(filepath.Join(c.StateDir, "keyring.json"))
}

// Notifier returns the notifier for the configuration: SNS when a topic is
// configured, the local outbox otherwise; either way failed sends are
// retried with backoff.
func (c Config) Notifier(ctx context.Context, log *slog.Logger) (crm.Notifier, error) {
	if c.TopicARN == "" {
		return notify.NewRetrying(notify.NewOutbox(filepath.Join(c.StateDir, "outbox.jsonl"), log), notify.RetryOptions{}), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	// Retrying owns the retries, and only for failures worth retrying.
	client := sns.NewFromConfig(cfg, func(o *sns.Options) { o.RetryMaxAttempts = 1 })
	return notify.NewRetrying(notify.NewSNS(client, c.TopicARN), notify.RetryOptions{
		Retryable: func(err error) bool { return errors.Is(err, notify.ErrUnavailable) },
	}), nil
}

// Services is everything a function needs, built once per process.
type Services struct {
	Store *dynamo.Store
	Deps  *api.Deps
	// Policy is the customer policy the report aggregates are counted by.
	Policy crm.Policy
	// Out receives the KPI metrics in Embedded Metric Format (stdout).
	Out io.Writer
	// DB is the DynamoDB client the store uses.
	DB dynamo.DB
	// Stage is Config.Stage, the KPIs' dimension.
	Stage string
}

// Build wires the store and the services for cfg.
func Build(ctx context.Context, cfg Config, db dynamo.DB, kr envelope.Keyring, n crm.Notifier, log *slog.Logger) (*Services, error) {
	store, err := dynamo.Open(ctx, dynamo.Config{DB: db, Table: cfg.Table, AuditTable: cfg.AuditTable, Keyring: kr, Cache: cfg.Cache, Retention: cfg.Retention})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	customers := &crm.Customers{Store: store, Complaints: store, Audit: store, Policy: cfg.Policy, Now: time.Now, NewID: NewID, Writes: store}
	complaints := &crm.Complaints{Store: store, Customers: store, SLA: cfg.SLA, Assignment: cfg.Assignment,
		Categories: cfg.Categories, Notifier: n, Now: time.Now, NewID: NewID}
	portal := &crm.Portal{Customers: customers, Store: store, Tokens: store, BaseURL: cfg.PortalBaseURL, TTL: cfg.PortalTTL}
	reminders := &crm.Reminders{Store: store, Customers: store, Portal: portal, SLA: cfg.SLA, Breach: cfg.Breach, Notifier: n, Now: time.Now}
	reports := &crm.Reports{Store: store, Targets: cfg.Targets, QualityPeriod: cfg.QualityPeriod, Now: time.Now}
	deps := &api.Deps{Customers: customers, Complaints: complaints, Audit: store, Portal: portal, Reminders: reminders, Reports: reports,
		Idempotency: store, Health: store.Ping, Logger: log, Now: time.Now}
	return &Services{Store: store, Deps: deps, Policy: cfg.Policy, Out: os.Stdout, DB: db, Stage: cfg.Stage}, nil
}

// Start reads the configuration from getenv and builds the services against
// the real clients: what every function's main does.
func Start(ctx context.Context, getenv func(string) string) (*Services, error) {
	cfg, err := Load(getenv)
	if err != nil {
		return nil, err
	}
	db, err := cfg.DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	kr, err := cfg.OpenKeyring(ctx)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger()
	n, err := cfg.Notifier(ctx, log)
	if err != nil {
		return nil, err
	}
	return Build(ctx, cfg, db, kr, n, log)
}

// ServeLambda runs function's API handler as a Lambda: what every API
// function's main does.
func ServeLambda(ctx context.Context, getenv func(string) string, function string) error {
	svc, err := Start(ctx, getenv)
	if err != nil {
		return err
	}
	h := api.NewHandler(svc.Deps, function)
	switch function {
	case api.FnReminders:
		lambda.StartWithOptions(ReminderHandler(svc.Deps, h), lambda.WithContext(ctx))
		return nil
	case api.FnReports:
		lambda.StartWithOptions(ReportsHandler(svc, h), lambda.WithContext(ctx))
		return nil
	}
	lambda.StartWithOptions(h.Invoke, lambda.WithContext(ctx))
	return nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random 100-bit id with a type prefix, such as "c_…".
func NewID(prefix string) string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return prefix + "_" + idEncoding.EncodeToString(b)[:20]
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
