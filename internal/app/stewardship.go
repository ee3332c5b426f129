package app

import (
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// loadStewardshipSettings reads the four-eyes and consent-retention
// settings. FOUR_EYES turns approval off set empty or blank, "off" or
// "none"; unset, it keeps the default: the one setting whose empty value
// means something, so it reads env, which tells the two apart.
func (c *Config) loadStewardshipSettings(env Environ) []string {
	getenv := env.Get
	var errs []string
	switch v, set := env("FOUR_EYES"); {
	case !set:
	case strings.TrimSpace(v) == "", v == "off", v == "none":
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
