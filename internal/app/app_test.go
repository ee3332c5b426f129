package app

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "clientele" || c.Keyring != "local" || c.Policy.PhoneRegion != "CN" || c.Policy.ReviewPeriod != 180*24*time.Hour {
		t.Fatalf("defaults %+v", c)
	}
}

func TestLoadSettings(t *testing.T) {
	c, err := Load(env(map[string]string{
		"TABLE_NAME": "crm", "PHONE_REGION": "us", "REQUIRED_FIELDS": "name, email,company", "REVIEW_PERIOD": "90d",
		"KEYRING": "kms", "KMS_KEY_ID": "alias/x", "DATA_KEY_MAX_AGE": "1m", "DATA_KEY_MAX_ITEMS": "50", "LOG_LEVEL": "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.PhoneRegion != "US" || strings.Join(c.Policy.Required, ",") != "name,email,company" || c.Policy.ReviewPeriod != 90*24*time.Hour ||
		c.Cache.MaxAge != time.Minute || c.Cache.MaxItems != 50 || c.KMSKeyID != "alias/x" {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadNamesEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{
		"PHONE_REGION": "Narnia", "REQUIRED_FIELDS": "name,shoeSize", "REVIEW_PERIOD": "soon",
		"KEYRING": "kms", "DATA_KEY_MAX_ITEMS": "-1", "LOG_LEVEL": "loud", "IMPORT_MAX_RECEIVE": "0", "CLIENT_RATE_LIMIT": "-3",
		"ACCESS_ALERT_THRESHOLD": "many", "DIGEST_INTERVAL": "30s", "FUNCTION_TIMEOUT": "1s", "RETENTION_TOMBSTONES": "forever",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"PHONE_REGION", "shoeSize", "REVIEW_PERIOD", "KMS_KEY_ID", "DATA_KEY_MAX_ITEMS", "LOG_LEVEL",
		"IMPORT_MAX_RECEIVE", "CLIENT_RATE_LIMIT", "ACCESS_ALERT_THRESHOLD", "DIGEST_INTERVAL", "FUNCTION_TIMEOUT", "RETENTION_TOMBSTONES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestLoadIntervalsAndLimits(t *testing.T) {
	c, err := Load(env(map[string]string{
		"REMINDER_INTERVAL": "off", "DIGEST_INTERVAL": "1h", "RETENTION_INTERACTIONS": "0", "PORTAL_LINK_TTL": "2d",
		"CLIENT_RATE_LIMIT": "0", "ACCESS_ALERT_THRESHOLD": "5", "IMPORT_MAX_RECEIVE": "3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ReminderInterval != 0 || c.DigestInterval != time.Hour || c.Retention.Interactions != 0 || c.PortalTTL != 48*time.Hour ||
		c.ClientRateLimit != 0 || c.AccessThreshold != 5 || c.ImportMaxReceive != 3 {
		t.Fatalf("got reminder %v, digest %v, interactions kept %v, portal TTL %v, rate limit %d, threshold %d, receives %d",
			c.ReminderInterval, c.DigestInterval, c.Retention.Interactions, c.PortalTTL, c.ClientRateLimit, c.AccessThreshold, c.ImportMaxReceive)
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID("c"), NewID("c")
	if a == b || !strings.HasPrefix(a, "c_") || len(a) != 22 || strings.ToLower(a) != a {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestLoadComplaintSettings(t *testing.T) {
	c, err := Load(env(map[string]string{
		"SERVICE_AGENTS": "sam, sue", "SLA_CLOCK": "business", "SLA_TIMEZONE": "Asia/Shanghai", "SLA_HOLIDAYS": "2026-10-01",
		"SLA_RESOLVE": "critical=1h,high=4h,medium=1d,low=3d", "COMPLAINT_CATEGORIES": "Billing,returns",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Assignment.Mode != "round_robin" || strings.Join(c.Assignment.Agents, ",") != "sam,sue" || !c.SLA.Calendar.Business ||
		c.SLA.Resolve["medium"] != 24*time.Hour || strings.Join(c.Categories, ",") != "billing,returns" || !c.SLA.Calendar.Holidays["2026-10-01"] {
		t.Fatalf("got %+v", c)
	}
	_, err = Load(env(map[string]string{"ASSIGNMENT": "round_robin", "SLA_CLOCK": "sundial", "SLA_RESOLVE": "critical=soon", "COMPLAINT_CATEGORIES": "ok,Not Valid!"}))
	for _, want := range []string{"SERVICE_AGENTS", "clock", "SLA_RESOLVE", "COMPLAINT_CATEGORIES"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestLoadReminderSettings(t *testing.T) {
	c, err := Load(env(map[string]string{"REVIEW_PERIODS": "VIP=90d, smb=365d", "SLA_WARN_AT": "80%",
		"SLA_BREACH_ESCALATE": "false", "SLA_ESCALATE_TO": "lead", "REMINDER_INTERVAL": "off"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.SegmentReviewPeriods["vip"] != 90*24*time.Hour || c.Policy.SegmentReviewPeriods["smb"] != 365*24*time.Hour ||
		c.SLA.WarnAt != 0.8 || c.Breach.Escalate || c.Breach.EscalateTo != "lead" || c.ReminderInterval != 0 {
		t.Fatalf("got %+v %+v %+v %v", c.Policy.SegmentReviewPeriods, c.SLA.WarnAt, c.Breach, c.ReminderInterval)
	}
	d, err := Load(env(nil))
	if err != nil || !d.Breach.Escalate || d.ReminderInterval != 15*time.Minute {
		t.Fatalf("defaults: %+v %v %v", d.Breach, d.ReminderInterval, err)
	}
	_, err = Load(env(map[string]string{"REVIEW_PERIODS": "vip", "SLA_WARN_AT": "120%", "SLA_BREACH_ESCALATE": "maybe", "REMINDER_INTERVAL": "1s"}))
	for _, name := range []string{"REVIEW_PERIODS", "SLA_WARN_AT", "SLA_BREACH_ESCALATE", "REMINDER_INTERVAL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}
