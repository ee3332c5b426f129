package app

import (
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// loadStewardshipSettings reads the four-eyes and consent-retention
// settings. A getenv cannot tell an empty variable from an unset one, so
// FOUR_EYES turns approval off with "off" (or "none"); unset, it keeps
// the default.
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
