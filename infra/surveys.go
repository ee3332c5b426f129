package infra

import "github.com/clientele-crm/clientele/internal/app"

// SatisfactionTarget returns the share of satisfied survey answers the
// functions measure against (SATISFACTION_TARGET), which the satisfaction
// alarm follows.
func (s *Stage) SatisfactionTarget() float64 {
	c, err := app.Load(s.env(map[string]string{"KEYRING": "kms", "KMS_KEY_ID": "synth"}))
	if err != nil {
		return app.DefaultSatisfactionTarget
	}
	return c.Surveys.Target
}
