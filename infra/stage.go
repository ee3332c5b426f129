package infra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
)

// Stage is one deployment of the stack, read from stages/<name>.json. Every
// deployment-specific choice lives here so that nothing is edited in code or
// in the console (the next deploy would wipe a console edit).
type Stage struct {
	// Name is part of the stack name, every physical name, export, tag and
	// metric dimension, so that two stages live in one account.
	Name string `json:"name"`
	// Account and Region pin the stack; empty leaves it to the cdk CLI's
	// credentials (and synthesis then needs no account).
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	// Retain keeps tables, keys, the user pool, log groups and the backup
	// vault when the stack is deleted, and turns on deletion protection.
	// Off, a destroy removes everything the stack made.
	Retain bool `json:"retain"`
	// Backups turns on the AWS Backup plan. A vault holding recovery points
	// cannot be deleted, so a stage that must destroy cleanly has none and
	// relies on point-in-time recovery.
	Backups bool `json:"backups"`
	// Settings are the functions' environment, as internal/app reads it
	// (PHONE_REGION, SLA_*, QUALITY_TARGETS, PORTAL_BASE_URL, …), plus
	// CORS_ORIGINS, a comma list of the web origins the API answers.
	Settings map[string]string `json:"settings"`
	// Functions sizes each function; a function not named gets
	// DefaultFunction (or, for the reminder and reports functions, their
	// own defaults).
	Functions map[string]FunctionConfig `json:"functions,omitempty"`
	// ReminderRateMinutes is how often the reminder job runs.
	ReminderRateMinutes int `json:"reminderRateMinutes"`
	// Canary shifts 10 % of traffic to a new version for five minutes and
	// rolls back on any function alarm; off, a deploy switches at once.
	Canary bool `json:"canary"`
	// LogRetentionDays is how long function and access logs are kept; one
	// of CloudWatch Logs' retention periods.
	LogRetentionDays int       `json:"logRetentionDays"`
	API              APIConfig `json:"api"`
	Auth             Auth      `json:"auth"`
	// AlarmEmail, when set, is subscribed to the alarm topic (the address
	// must confirm the subscription).
	AlarmEmail string `json:"alarmEmail,omitempty"`
	// Edge, when set, puts CloudFront with AWS WAF in front of the
	// public paths, in a stack of its own (NewEdgeStack).
	Edge *Edge `json:"edge,omitempty"`
}

// Edge is CloudFront with AWS WAF in front of the API's public paths. Its
// origin is the API's custom domain (api.domainName).
type Edge struct {
	// DomainName is the public name of the distribution, with an ACM
	// certificate in us-east-1 (CertificateArn), as CloudFront requires.
	DomainName     string `json:"domainName"`
	CertificateArn string `json:"certificateArn"`
	// RateLimit is how many requests one client IP may make in five
	// minutes before the web ACL blocks it.
	RateLimit int `json:"rateLimit"`
}

// FunctionConfig sizes one function.
type FunctionConfig struct {
	MemoryMB       int `json:"memoryMB"`
	TimeoutSeconds int `json:"timeoutSeconds"`
	// ReservedConcurrency caps and guarantees the function's concurrency;
	// 0 leaves it unreserved, for accounts whose quota is small.
	ReservedConcurrency int `json:"reservedConcurrency,omitempty"`
}

// Throttle is a steady rate and a burst, requests per second.
type Throttle struct {
	Rate  float64 `json:"rate"`
	Burst float64 `json:"burst"`
}

// APIConfig is the HTTP API's edge.
type APIConfig struct {
	// Staff throttles the authenticated routes; Public the portal and
	// survey routes; Health /healthz and /openapi.json. Separate limits
	// keep an anonymous caller from using up the staff's.
	Staff  Throttle `json:"staff"`
	Public Throttle `json:"public"`
	Health Throttle `json:"health"`
	// DomainName and CertificateArn, together, serve the API on a custom
	// domain (an ACM certificate in the stack's region).
	DomainName     string `json:"domainName,omitempty"`
	CertificateArn string `json:"certificateArn,omitempty"`
}

// Auth is staff sign-in.
type Auth struct {
	// DomainPrefix names the Cognito hosted sign-in domain
	// (<prefix>.auth.<region>.amazoncognito.com); globally unique, so it
	// must contain the stage name.
	DomainPrefix string `json:"domainPrefix"`
	// WebCallbackURLs and WebLogoutURLs are the web console's redirect
	// URLs (https, or http://localhost for development).
	WebCallbackURLs []string `json:"webCallbackURLs"`
	WebLogoutURLs   []string `json:"webLogoutURLs"`
	// MobileCallbackURLs use the mobile app's custom scheme
	// (com.example.clientele://callback).
	MobileCallbackURLs []string `json:"mobileCallbackURLs"`
	// ThreatProtection turns on Cognito's threat protection in enforced
	// mode (it needs the Plus feature plan, which is billed per user).
	ThreatProtection bool `json:"threatProtection"`
	// SESFromAddress, when set, sends invitations and codes through SES
	// from this verified identity instead of Cognito's default sender.
	SESFromAddress string `json:"sesFromAddress,omitempty"`
	SESRegion      string `json:"sesRegion,omitempty"`
	// MachineClients are the integrations: one confidential app client
	// each, with the client-credentials grant and the scopes listed.
	MachineClients []MachineClient `json:"machineClients,omitempty"`
}

// MachineClient is one integration's app client.
type MachineClient struct {
	// Name is lower-case letters, digits and hyphens; it names the app
	// client and its stack output.
	Name string `json:"name"`
	// Scopes are those of the resource server "clientele" it may ask for
	// (crm.Scopes).
	Scopes []string `json:"scopes"`
}

// Defaults of function sizing: API functions answer within API Gateway's
// limits; the reminder job works through everything due; the reports
// function also consumes stream batches.
var (
	DefaultFunction  = FunctionConfig{MemoryMB: 256, TimeoutSeconds: 10}
	defaultFunctions = map[string]FunctionConfig{
		"reminders": {MemoryMB: 512, TimeoutSeconds: 300},
		"reports":   {MemoryMB: 512, TimeoutSeconds: 60},
		// One chunk of a background import per invocation.
		"imports": {MemoryMB: 512, TimeoutSeconds: 120},
		// A pass attempts up to 100 deliveries, eight endpoints at a time,
		// each attempt bounded by 10 s.
		"webhooks": {MemoryMB: 256, TimeoutSeconds: 180},
	}
)

// Function returns the sizing of function name.
func (s *Stage) Function(name string) FunctionConfig {
	if c, ok := s.Functions[name]; ok {
		return c
	}
	if c, ok := defaultFunctions[name]; ok {
		return c
	}
	return DefaultFunction
}

// stackSettings are the environment variables the stack itself sets on
// every function; a stage may not set them.
var stackSettings = []string{"TABLE_NAME", "AUDIT_TABLE_NAME", "KEYRING", "KMS_KEY_ID", "LEGACY_KMS_KEY_ID", "TOPIC_ARN", "STAGE", "FUNCTION_TIMEOUT", "AUDIT_SIGNING_KEY_ID", "IMPORT_QUEUE_URL", "IMPORT_MAX_RECEIVE"}

// localSettings only make sense for the local runtime.
var localSettings = []string{"DYNAMODB_ENDPOINT", "CLIENTELE_STATE_DIR", "PORT", "REMINDER_INTERVAL", "DIGEST_INTERVAL"}

// knownSettings are the settings internal/app reads, and CORS_ORIGINS. A
// name not here is a typo that would otherwise be silently ignored.
var knownSettings = []string{
	"PHONE_REGION", "REQUIRED_FIELDS", "REVIEW_PERIOD", "REVIEW_PERIODS",
	"QUALITY_TARGETS", "QUALITY_PERIOD",
	"RETENTION_CLOSED_COMPLAINTS", "RETENTION_INTERACTIONS", "RETENTION_TOMBSTONES",
	"PORTAL_BASE_URL", "PORTAL_LINK_TTL", "DATA_KEY_MAX_AGE", "DATA_KEY_MAX_ITEMS", "LOG_LEVEL",
	"SLA_CLOCK", "SLA_TIMEZONE", "SLA_WORKDAYS", "SLA_HOURS", "SLA_HOLIDAYS",
	"SLA_RESOLVE", "SLA_ACKNOWLEDGE", "SLA_WARN_AT", "SLA_BREACH_ESCALATE", "SLA_ESCALATE_TO",
	"SERVICE_AGENTS", "ASSIGNMENT", "COMPLAINT_CATEGORIES", "ACCESS_ALERT_THRESHOLD",
	"FOUR_EYES", "FOUR_EYES_TTL", "CONSENT_RETAIN_ON_ERASE", "MERGE_UNDO_TTL",
	"CORS_ORIGINS", "DORMANT_AFTER", "LOST_REASONS",
	"SURVEY_BASE_URL", "SURVEY_LINK_TTL", "DEFAULT_LANGUAGE", "SATISFACTION_TARGET",
	"CLIENT_RATE_LIMIT", "TRIAGE_ASSIGNEE",
}

var (
	stageName    = regexp.MustCompile(`^[a-z][a-z0-9]{1,11}$`)
	accountID    = regexp.MustCompile(`^\d{12}$`)
	domainPrefix = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	customScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://`)
	machineName  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// logRetention maps the retention periods CloudWatch Logs offers, in days,
// to the CDK's names for them.
var logRetention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// logRetention returns the stage's log retention as the CDK names it.
func (s *Stage) logRetention() awslogs.RetentionDays { return logRetention[s.LogRetentionDays] }

// LoadStage reads and validates the stage file path. Unknown fields are
// errors: a misspelt key would otherwise fall back to a default unseen.
func LoadStage(path string) (*Stage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s Stage
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// Validate reports every problem of s at once, one per line, so that a
// stage file is fixed in one pass rather than one synth per mistake.
func (s *Stage) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !stageName.MatchString(s.Name) {
		bad("name %q: 2 to 12 lower-case letters and digits, starting with a letter", s.Name)
	}
	if s.Account != "" && !accountID.MatchString(s.Account) {
		bad("account %q: 12 digits", s.Account)
	}
	for name := range s.Settings {
		switch {
		case slices.Contains(stackSettings, name):
			bad("settings.%s: set by the stack, not the stage", name)
		case slices.Contains(localSettings, name):
			bad("settings.%s: local runtime only (the stage's reminderRateMinutes schedules the job on AWS)", name)
		case !slices.Contains(knownSettings, name):
			bad("settings.%s: not a setting the functions read", name)
		}
	}
	// The functions validate their settings at cold start; validating them
	// here with the same code makes a bad value fail the synth instead of
	// every invocation after the deploy.
	if _, err := app.Load(s.env(map[string]string{"KEYRING": "kms", "KMS_KEY_ID": "synth"})); err != nil {
		msg := strings.TrimPrefix(err.Error(), "configuration: ")
		for _, m := range strings.Split(msg, "; ") {
			bad("settings: %s", m)
		}
	}
	for _, o := range s.CORSOrigins() {
		if err := checkOrigin(o); err != nil {
			bad("settings.CORS_ORIGINS: %v", err)
		}
	}
	for name, f := range s.Functions {
		if f.MemoryMB < 128 || f.MemoryMB > 10240 {
			bad("functions.%s.memoryMB %d: 128 to 10240", name, f.MemoryMB)
		}
		if f.TimeoutSeconds < 1 || f.TimeoutSeconds > 900 {
			bad("functions.%s.timeoutSeconds %d: 1 to 900", name, f.TimeoutSeconds)
		}
		if f.ReservedConcurrency < 0 {
			bad("functions.%s.reservedConcurrency %d: 0 (unreserved) or more", name, f.ReservedConcurrency)
		}
	}
	if s.ReminderRateMinutes < 1 || s.ReminderRateMinutes > 60 {
		bad("reminderRateMinutes %d: 1 to 60 (a critical complaint's warning is due 30 minutes before its breach)", s.ReminderRateMinutes)
	}
	if _, ok := logRetention[s.LogRetentionDays]; !ok {
		days := slices.Sorted(maps.Keys(logRetention))
		bad("logRetentionDays %d: one of %v", s.LogRetentionDays, days)
	}
	for _, t := range []struct {
		name string
		t    Throttle
	}{{"staff", s.API.Staff}, {"public", s.API.Public}, {"health", s.API.Health}} {
		if t.t.Rate <= 0 || t.t.Burst < 1 {
			bad("api.%s: rate and burst must be positive", t.name)
		}
	}
	if s.API.Public.Rate > s.API.Staff.Rate {
		bad("api.public.rate %g: no higher than api.staff.rate %g (anonymous callers must not outrank staff)", s.API.Public.Rate, s.API.Staff.Rate)
	}
	if (s.API.DomainName == "") != (s.API.CertificateArn == "") {
		bad("api.domainName and api.certificateArn: both or neither")
	}
	if s.API.CertificateArn != "" && !strings.HasPrefix(s.API.CertificateArn, "arn:aws") {
		bad("api.certificateArn %q: an ACM certificate ARN", s.API.CertificateArn)
	}
	a := s.Auth
	if !domainPrefix.MatchString(a.DomainPrefix) || strings.Contains(a.DomainPrefix, "cognito") || strings.Contains(a.DomainPrefix, "aws") {
		bad("auth.domainPrefix %q: lower-case letters, digits and hyphens, without aws or cognito", a.DomainPrefix)
	} else if !strings.Contains(a.DomainPrefix, s.Name) {
		bad("auth.domainPrefix %q: must contain the stage name %q so stages do not collide", a.DomainPrefix, s.Name)
	}
	if len(a.WebCallbackURLs) == 0 {
		bad("auth.webCallbackURLs: at least one")
	}
	for _, u := range slices.Concat(a.WebCallbackURLs, a.WebLogoutURLs) {
		if err := checkWebURL(u); err != nil {
			bad("auth: %v", err)
		}
	}
	if len(a.MobileCallbackURLs) == 0 {
		bad("auth.mobileCallbackURLs: at least one")
	}
	seen := map[string]bool{}
	for _, m := range a.MachineClients {
		if !machineName.MatchString(m.Name) || seen[m.Name] {
			bad("auth.machineClients: name %q must be unique, lower-case letters, digits and hyphens", m.Name)
		}
		seen[m.Name] = true
		if len(m.Scopes) == 0 {
			bad("auth.machineClients %s: at least one scope", m.Name)
		}
		for _, sc := range m.Scopes {
			if !slices.Contains(crm.Scopes, sc) {
				bad("auth.machineClients %s: unknown scope %q (use %s)", m.Name, sc, strings.Join(crm.Scopes, ", "))
			}
		}
	}
	for _, u := range a.MobileCallbackURLs {
		if !customScheme.MatchString(u) || strings.HasPrefix(u, "http") {
			bad("auth.mobileCallbackURLs %q: a custom scheme such as com.example.clientele://callback", u)
		}
	}
	if a.SESFromAddress != "" && !strings.Contains(a.SESFromAddress, "@") {
		bad("auth.sesFromAddress %q: an email address", a.SESFromAddress)
	}
	if a.SESRegion != "" && a.SESFromAddress == "" {
		bad("auth.sesRegion: only with auth.sesFromAddress")
	}
	if a.SESFromAddress != "" && a.SESRegion == "" && s.Region == "" {
		bad("auth.sesRegion: needed with auth.sesFromAddress when the stage names no region (the SES identity's region)")
	}
	if s.AlarmEmail != "" && !strings.Contains(s.AlarmEmail, "@") {
		bad("alarmEmail %q: an email address", s.AlarmEmail)
	}
	if e := s.Edge; e != nil {
		if s.API.DomainName == "" {
			bad("edge: needs api.domainName, the origin CloudFront forwards to")
		}
		if e.DomainName == "" || e.DomainName == s.API.DomainName {
			bad("edge.domainName %q: a name of its own, not api.domainName", e.DomainName)
		}
		if !strings.HasPrefix(e.CertificateArn, "arn:aws") || !strings.Contains(e.CertificateArn, ":"+EdgeRegion+":") {
			bad("edge.certificateArn %q: an ACM certificate in %s, as CloudFront requires", e.CertificateArn, EdgeRegion)
		}
		if e.RateLimit < 10 {
			bad("edge.rateLimit %d: at least 10 requests per five minutes (AWS WAF's minimum)", e.RateLimit)
		}
	}
	return errors.Join(errs...)
}

// env returns the functions' environment: the stage's settings, the stage
// name and extra (the stack's own values), extra winning.
func (s *Stage) env(extra map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		return s.Settings[k]
	}
}

// Targets returns the data-quality targets the functions will use, which
// the KPI alarms follow.
func (s *Stage) Targets() crm.Targets {
	c, err := app.Load(s.env(map[string]string{"KEYRING": "kms", "KMS_KEY_ID": "synth"}))
	if err != nil {
		return crm.DefaultTargets
	}
	return c.Targets
}

// CORSOrigins returns the origins of settings.CORS_ORIGINS.
func (s *Stage) CORSOrigins() []string {
	var out []string
	for _, o := range strings.Split(s.Settings["CORS_ORIGINS"], ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// checkOrigin accepts a browser origin: scheme, host and optional port,
// nothing else. A wildcard would let any site call the API with a stolen
// token in the page.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || strings.Contains(o, "*") {
		return fmt.Errorf("%q is not an origin such as https://console.example.com", o)
	}
	if u.Scheme == "http" && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("%q: http only for localhost", o)
	}
	return nil
}

// checkWebURL accepts an https URL, or http on localhost (Cognito's own
// rule for callback URLs).
func checkWebURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || u.Hostname() != "localhost") {
		return fmt.Errorf("%q: https, or http://localhost", raw)
	}
	return nil
}
