package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// SurveyConfig governs the satisfaction surveys sent after a resolution.
type SurveyConfig struct {
	// BaseURL is the survey page the token follows as a fragment
	// (SURVEY_BASE_URL).
	BaseURL string
	// TTL is how long a survey link is valid (SURVEY_LINK_TTL, 14d).
	TTL time.Duration
	// DefaultLanguage is the language of customers who chose none
	// (DEFAULT_LANGUAGE, BCP 47, zh-CN).
	DefaultLanguage string
	// Target is the share of satisfied answers the report measures
	// against (SATISFACTION_TARGET, 90%).
	Target float64
}

// loadSurveySettings reads the survey settings into c.Surveys.
func (c *Config) loadSurveySettings(getenv func(string) string) []string {
	var errs []string
	c.Surveys = SurveyConfig{
		BaseURL:         or(getenv("SURVEY_BASE_URL"), "http://127.0.0.1:"+or(getenv("PORT"), "8080")+"/survey"),
		TTL:             14 * 24 * time.Hour,
		DefaultLanguage: "zh-CN",
		Target:          crm.DefaultSurveyTarget,
	}
	if getenv("SURVEY_BASE_URL") == "" && c.Keyring == "kms" {
		c.Surveys.BaseURL = "/survey" // as the portal: the deployment chooses the host
	}
	errs = append(errs, duration(getenv, "SURVEY_LINK_TTL", &c.Surveys.TTL, positive, "a positive duration such as 14d")...)
	if v := getenv("DEFAULT_LANGUAGE"); v != "" {
		// By form here; Build canonicalizes it where the function links
		// the language tables.
		if _, ok := crm.CanonicalLanguageForm(v); !ok {
			errs = append(errs, "DEFAULT_LANGUAGE must be a BCP 47 language tag such as zh-CN")
		}
		c.Surveys.DefaultLanguage = v
	}
	if v := getenv("SATISFACTION_TARGET"); v != "" {
		t, err := parseShare(v)
		if err != nil {
			errs = append(errs, "SATISFACTION_TARGET: "+err.Error())
		}
		c.Surveys.Target = t
	}
	return errs
}

// parseShare reads a share such as "90%" or "0.9".
func parseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		f /= 100
	}
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is not a share such as 90%% or 0.9", s)
	}
	return f, nil
}

// DefaultSatisfactionTarget is the satisfaction target without
// SATISFACTION_TARGET: 90 % of answers satisfied.
const DefaultSatisfactionTarget = crm.DefaultSurveyTarget

// SatisfactionEMF renders the satisfaction KPI in Embedded Metric Format,
// with the dimension Stage when stage is set; the stack alarms when
// SatisfactionRate falls below the target.
func SatisfactionEMF(s crm.Satisfaction, stage string, at time.Time) map[string]any {
	return emf(stage, at, metric{"SatisfactionRate", "None", s.SatisfiedRate}, metric{"SurveyResponseRate", "None", s.ResponseRate},
		metric{"SurveyResponses", "Count", float64(s.Responses)})
}
