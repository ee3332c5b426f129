package app

import (
	"os"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Getenv reads the process's environment for Load. A getenv cannot tell an
// empty variable from an unset one, and FOUR_EYES set empty means "no
// approvals" (unset keeps the default), so Getenv reads it as "off".
func Getenv(key string) string {
	v, ok := os.LookupEnv(key)
	if key == "FOUR_EYES" && ok && strings.TrimSpace(v) == "" {
		return "off"
	}
	return v
}

// loadStewardshipSettings reads the four-eyes and consent-retention
// settings. FOUR_EYES turns approval off set empty (see Getenv), "off" or
// "none"; unset, it keeps the default.
func (c *Config) loadStewardshipSettings(getenv func(string) string) []string {
	var errs []string
	switch v := getenv("FOUR_EYES"); v {
	case "":
	case "off", "none":
		c.FourEyes.Kinds = nil
	default:
		kinds, err := crm.ParseFourEyes(v)
		if err != nil {
			errs = append(errs, "FOUR_EYES must be a comma list of billing, erase and merge, or off")
		}
		c.FourEyes.Kinds = kinds
	}
	errs = append(errs, duration(getenv, "FOUR_EYES_TTL", &c.FourEyes.TTL, atLeast(time.Hour), "a duration of an hour or more, such as 7d")...)
	errs = append(errs, duration(getenv, "MERGE_UNDO_TTL", &c.MergeUndoTTL, atLeast(time.Hour), "a duration of an hour or more, such as 30d")...)
	switch v := crm.ConsentRetention(getenv("CONSENT_RETAIN_ON_ERASE")); v {
	case "":
	case crm.RetainNoConsents, crm.RetainWithdrawals, crm.RetainAllConsents:
		c.Retention.ConsentOnErase = v
	default:
		errs = append(errs, "CONSENT_RETAIN_ON_ERASE must be none, withdrawals or all")
	}
	return errs
}
