// Package app is Clientele's composition root: it reads the configuration
// and wires the table, the keyring and the domain services together, once,
// for every function, the local runtime and the tests. A function names the
// edges it links (phone parsing, the SNS publisher), so a function that does
// not use one does not carry it.
package app

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // SLA time zones on Lambda's minimal image

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
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
	// LegacyKMSKeyID (LEGACY_KMS_KEY_ID) names the key that wrapped field
	// envelopes before they had a key of their own: items sealed then
	// still open with it. Empty when KMSKeyID wrapped everything.
	LegacyKMSKeyID string
	// KeyRefresh is how often a process looks for a rotation of the
	// blind-index key (dynamo.DefaultKeyRefresh when zero); not a setting,
	// tests shorten it.
	KeyRefresh time.Duration
	// StateDir holds the local runtime's keys (CLIENTELE_STATE_DIR).
	StateDir string
	Policy   crm.Policy
	Cache    envelope.Options
	LogLevel slog.Level
	// SLA, Assignment and Categories govern complaints.
	SLA        crm.SLAPolicy
	Assignment crm.Assignment
	Categories []string
	// ClientRateLimit is each machine client's budget of requests per
	// minute (CLIENT_RATE_LIMIT; 0 turns the limit off).
	ClientRateLimit int
	// PortalBaseURL prefixes self-service tokens (PORTAL_BASE_URL);
	// PortalTTL is how long a link lives (PORTAL_LINK_TTL).
	PortalBaseURL string
	PortalTTL     time.Duration
	// TopicARN is the SNS topic notifications go to (TOPIC_ARN); locally,
	// with none, they go to the outbox file in StateDir.
	TopicARN string
	// ImportQueueURL is the SQS queue of background import tasks
	// (IMPORT_QUEUE_URL); with none, imports run in the process that
	// took them (the local runtime). A task delivered ImportMaxReceive
	// times (IMPORT_MAX_RECEIVE, the queue's redrive count) fails its
	// import.
	ImportQueueURL   string
	ImportMaxReceive int
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
	// Region is the AWS region (AWS_REGION); DynamoDB Local ignores it.
	Region string
	// AccessThreshold flags a user whose refused requests and probes in a
	// day reach it (ACCESS_ALERT_THRESHOLD).
	AccessThreshold int64
	// Stage names the deployment (STAGE), set by the stack; it is the
	// dimension of the published KPIs, so that two stages in one account
	// do not trip each other's alarms. Empty locally.
	Stage string
	// FunctionTimeout is the function's timeout (FUNCTION_TIMEOUT, default
	// 10s, the API functions' on AWS). A request gets this long less a
	// margin to answer, on Lambda and in the local gateway alike, so that a
	// slow dependency ends in a 503 the client sees, not in the runtime
	// killing the function.
	FunctionTimeout time.Duration
	// AuditKeyID is the KMS asymmetric key that signs the audit digests on
	// AWS (AUDIT_SIGNING_KEY_ID); locally a key file in StateDir signs.
	AuditKeyID string
	// DigestInterval is how often the local runtime writes an audit digest
	// (DIGEST_INTERVAL; "off" never). On AWS the schedule does.
	DigestInterval time.Duration
	// DormantAfter is how long without activity makes a customer dormant
	// (DORMANT_AFTER); LostReasons are the reasons a customer may be
	// marked lost for (LOST_REASONS, a comma list).
	DormantAfter time.Duration
	LostReasons  []string
	// Surveys governs the satisfaction surveys (internal/app/surveys.go).
	Surveys SurveyConfig
	// Webhooks says where the domain events go (EVENT_BUS_NAME,
	// WEBHOOK_QUEUE_URL).
	Webhooks WebhookConfig
	// FourEyes lists the changes that wait for a second person's approval
	// (FOUR_EYES, default "billing,erase"; empty turns it off) and how
	// long a request waits (FOUR_EYES_TTL, default 7d).
	FourEyes crm.FourEyes
	// MergeUndoTTL is how long a merge can be undone (MERGE_UNDO_TTL,
	// default 30d).
	MergeUndoTTL time.Duration
	// getenv is what Load read, kept to read a Lambda function's
	// credentials when AWS needs them rather than holding secrets in a
	// value that may be printed.
	getenv func(string) string
}

// env returns what Load read the configuration from; the process's
// environment for a Config made otherwise.
func (c Config) env() func(string) string {
	if c.getenv == nil {
		return os.Getenv
	}
	return c.getenv
}

// CallTimeout is how long one attempt of one call to a dependency may
// take before it is retried: half the function's timeout, at most 5
// seconds — long enough that a busy but working database is not cut off and
// retried into more load, short enough that a hung connection gets a second
// attempt. The request's own deadline bounds all attempts together.
func (c Config) CallTimeout() time.Duration {
	return min(5*time.Second, c.FunctionTimeout/2)
}

// DigestSettle is how far behind the clock an audit digest's window ends:
// a write stamps its entry before it commits, and commits within the
// function's timeout; the day index then takes a moment to show it.
func (c Config) DigestSettle() time.Duration { return c.FunctionTimeout + time.Minute }

// Environ reads the configuration's variables as os.LookupEnv does: the
// value, and whether the variable is set at all, which the value alone
// cannot tell. The functions and the CLI read the process's environment
// through os.LookupEnv.
type Environ func(key string) (string, bool)

// Get returns key's value, "" when it is unset.
func (e Environ) Get(key string) string {
	v, _ := e(key)
	return v
}

// EmptyIsUnset reads getenv as an Environ in which a variable set empty is
// unset.
func EmptyIsUnset(getenv func(string) string) Environ {
	return func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	}
}

// Load reads the configuration from getenv, an empty value standing for an
// unset variable. Every problem is reported at once.
func Load(getenv func(string) string) (Config, error) { return LoadEnviron(EmptyIsUnset(getenv)) }

// LoadEnviron reads the configuration from env. Every problem is reported
// at once.
func LoadEnviron(env Environ) (Config, error) {
	getenv := env.Get
	c := defaults(getenv)
	var errs []string
	for _, load := range []func(getenv func(string) string) []string{
		c.loadComplaintSettings, c.loadSurveySettings, c.loadPolicySettings, c.loadIntervals,
	} {
		errs = append(errs, load(getenv)...)
	}
	errs = append(errs, c.loadStewardshipSettings(env)...)
	errs = append(errs, c.loadLimits(getenv)...)
	errs = append(errs, c.loadRuntime(getenv)...)
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// defaults returns the configuration with every setting at its default,
// and the plain settings (names, ARNs, URLs) read from getenv.
func defaults(getenv func(string) string) Config {
	c := Config{
		getenv:     getenv,
		Table:      or(getenv("TABLE_NAME"), "clientele"),
		AuditTable: or(getenv("AUDIT_TABLE_NAME"), "clientele-audit"),
		Retention: dynamo.Retention{
			ClosedComplaints: 3 * 365 * 24 * time.Hour,
			Interactions:     5 * 365 * 24 * time.Hour,
			Tombstones:       7 * 365 * 24 * time.Hour,
			ConsentOnErase:   crm.RetainWithdrawals,
		},
		Endpoint:         getenv("DYNAMODB_ENDPOINT"),
		Keyring:          or(getenv("KEYRING"), "local"),
		KMSKeyID:         getenv("KMS_KEY_ID"),
		LegacyKMSKeyID:   getenv("LEGACY_KMS_KEY_ID"),
		StateDir:         or(getenv("CLIENTELE_STATE_DIR"), ".clientele"),
		Policy:           crm.DefaultPolicy(crm.CanonicalE164),
		Region:           or(getenv("AWS_REGION"), "us-east-1"),
		AccessThreshold:  crm.DefaultAccessThreshold,
		TopicARN:         getenv("TOPIC_ARN"),
		ImportQueueURL:   getenv("IMPORT_QUEUE_URL"),
		ImportMaxReceive: 5,
		PortalBaseURL:    or(getenv("PORTAL_BASE_URL"), "http://127.0.0.1:"+or(getenv("PORT"), "8080")+"/self-service"),
		PortalTTL:        7 * 24 * time.Hour,
		SLA:              crm.DefaultSLAPolicy(),
		Assignment:       crm.Assignment{Mode: crm.AssignOwner, Triage: or(getenv("TRIAGE_ASSIGNEE"), crm.DefaultTriageAssignee)},
		ClientRateLimit:  DefaultClientRateLimit,
		Categories:       crm.DefaultCategories,
		Breach:           crm.BreachPolicy{Escalate: true, EscalateTo: getenv("SLA_ESCALATE_TO")},
		ReminderInterval: 15 * time.Minute,
		Targets:          crm.DefaultTargets,
		DormantAfter:     crm.DefaultDormantAfter,
		LostReasons:      crm.DefaultLostReasons,
		QualityPeriod:    30 * 24 * time.Hour,
		Stage:            getenv("STAGE"),
		FunctionTimeout:  10 * time.Second,
		AuditKeyID:       getenv("AUDIT_SIGNING_KEY_ID"),
		DigestInterval:   15 * time.Minute,
		Webhooks:         WebhookConfig{EventBus: getenv("EVENT_BUS_NAME"), QueueURL: getenv("WEBHOOK_QUEUE_URL")},
		FourEyes:         crm.FourEyes{Kinds: []string{crm.ApprovalBilling, crm.ApprovalErase}, TTL: crm.DefaultFourEyesTTL},
		MergeUndoTTL:     crm.DefaultMergeUndoTTL,
	}
	if getenv("PORTAL_BASE_URL") == "" && c.Keyring == "kms" {
		// On AWS the portal's host is the deployment's own choice; without
		// it, links are paths the client puts its host before.
		c.PortalBaseURL = "/self-service"
	}
	return c
}

// loadPolicySettings reads the customer policy: phone region, required
// fields, review periods, quality targets and outcomes.
func (c *Config) loadPolicySettings(getenv func(string) string) []string {
	var errs []string
	if v := getenv("PHONE_REGION"); v != "" {
		c.Policy.PhoneRegion = strings.ToUpper(v)
		if !isRegion(c.Policy.PhoneRegion) {
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
	errs = append(errs, duration(getenv, "REVIEW_PERIOD", &c.Policy.ReviewPeriod, positive, "a positive duration such as 180d or 72h")...)
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
	errs = append(errs, loadOutcomes(getenv, c)...)
	return append(errs, duration(getenv, "QUALITY_PERIOD", &c.QualityPeriod, atLeast(24*time.Hour), "a whole number of days, such as 30d")...)
}

// loadIntervals reads the schedules, retention periods and timeouts.
func (c *Config) loadIntervals(getenv func(string) string) []string {
	const keep = "a duration such as 1095d, or 0 to keep for ever"
	var errs []string
	for _, d := range []struct {
		name string
		dst  *time.Duration
		ok   func(time.Duration) bool
		want string
	}{
		{"RETENTION_CLOSED_COMPLAINTS", &c.Retention.ClosedComplaints, atLeast(0), keep},
		{"RETENTION_INTERACTIONS", &c.Retention.Interactions, atLeast(0), keep},
		{"RETENTION_TOMBSTONES", &c.Retention.Tombstones, atLeast(0), keep},
		{"PORTAL_LINK_TTL", &c.PortalTTL, positive, "a positive duration such as 7d"},
		{"DATA_KEY_MAX_AGE", &c.Cache.MaxAge, positive, "a positive duration"},
		{"FUNCTION_TIMEOUT", &c.FunctionTimeout, atLeast(2 * time.Second), "a duration of 2s or more, such as 10s"},
	} {
		errs = append(errs, duration(getenv, d.name, d.dst, d.ok, d.want)...)
	}
	errs = append(errs, schedule(getenv, "REMINDER_INTERVAL", &c.ReminderInterval)...)
	return append(errs, schedule(getenv, "DIGEST_INTERVAL", &c.DigestInterval)...)
}

// loadLimits reads the numeric limits.
func (c *Config) loadLimits(getenv func(string) string) []string {
	var errs []string
	errs = append(errs, whole(getenv, "DATA_KEY_MAX_ITEMS", &c.Cache.MaxItems, 1, "a positive integer")...)
	errs = append(errs, whole(getenv, "IMPORT_MAX_RECEIVE", &c.ImportMaxReceive, 1, "a positive integer")...)
	errs = append(errs, whole(getenv, "CLIENT_RATE_LIMIT", &c.ClientRateLimit, 0, "a whole number of requests per minute, 0 for none")...)
	return append(errs, whole(getenv, "ACCESS_ALERT_THRESHOLD", &c.AccessThreshold, 1, "a positive whole number")...)
}

// loadRuntime checks the log level and the keyring.
func (c *Config) loadRuntime(getenv func(string) string) []string {
	var errs []string
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
	return errs
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
	fields := map[string]*float64{"completeness": &t.Completeness, "timeliness": &t.Timeliness, "duplicates": &t.Duplicates, "invalid": &t.Invalid,
		"selfservice": &t.SelfService, "suspect": &t.Suspect, "churn": &t.Churn}
	for _, item := range strings.Split(s, ",") {
		name, pct, ok := strings.Cut(strings.TrimSpace(item), "=")
		if strings.TrimSpace(name) == "updatecycle" {
			// The update cycle's target is a duration, such as 24h.
			d, err := time.ParseDuration(strings.TrimSpace(pct))
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not updatecycle=<duration>, such as updatecycle=24h", item)
			}
			t.UpdateCycleHours = d.Hours()
			continue
		}
		f, known := fields[strings.TrimSpace(name)]
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
		if !ok || !known || err != nil || v < 0 || v > 100 {
			return fmt.Errorf("%q is not name=percent with a name of completeness, timeliness, duplicates, invalid, selfservice, suspect, churn", item)
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

// duration reads the setting name, when set, into d; a value that does not
// parse or fails ok is named in the returned problem, which says it must be
// want.
func duration(getenv func(string) string, name string, d *time.Duration, ok func(time.Duration) bool, want string) []string {
	v := getenv(name)
	if v == "" {
		return nil
	}
	parsed, err := ParseDuration(v)
	if err != nil || !ok(parsed) {
		return []string{name + " must be " + want}
	}
	*d = parsed
	return nil
}

func positive(d time.Duration) bool { return d > 0 }

func atLeast(min time.Duration) func(time.Duration) bool {
	return func(d time.Duration) bool { return d >= min }
}

// schedule reads an interval that "off" or "0" turns off and that is
// otherwise at least a minute.
func schedule(getenv func(string) string, name string, d *time.Duration) []string {
	switch getenv(name) {
	case "":
		return nil
	case "off", "0":
		*d = 0
		return nil
	}
	return duration(getenv, name, d, atLeast(time.Minute), "a duration of a minute or more, or off")
}

// whole reads a whole number of at least min.
func whole[T int | int64](getenv func(string) string, name string, n *T, min T, want string) []string {
	v := getenv(name)
	if v == "" {
		return nil
	}
	parsed, err := strconv.ParseInt(v, 10, 64)
	if err != nil || T(parsed) < min {
		return []string{name + " must be " + want}
	}
	*n = T(parsed)
	return nil
}

// isRegion reports whether s has the form of an ISO 3166-1 alpha-2 code.
func isRegion(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
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

// DefaultClientRateLimit is each machine client's budget per minute when
// CLIENT_RATE_LIMIT is unset: two a second, ample for an integration
// relaying messages, small next to the API's own throttling.
const DefaultClientRateLimit = 120
