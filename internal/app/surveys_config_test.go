package app_test

import (
	"testing"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/app/everything"
	"github.com/clientele-crm/clientele/internal/crm"
)

func TestSurveySettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := app.Load(env(nil))
	if err != nil || c.Surveys.DefaultLanguage != "zh-CN" || c.Surveys.Target != 0.9 || c.Surveys.TTL <= 0 {
		t.Fatalf("defaults: %+v %v", c.Surveys, err)
	}
	c, err = app.Load(env(map[string]string{"DEFAULT_LANGUAGE": "en-gb", "SATISFACTION_TARGET": "85%"}))
	if err != nil || c.Surveys.DefaultLanguage != "en-gb" || c.Surveys.Target != 0.85 {
		t.Fatalf("set: %+v %v", c.Surveys, err)
	}
	// A function that links the language tables canonicalizes the
	// default; one that does not keeps it as checked by form.
	if got := c.With(everything.Function).Surveys.DefaultLanguage; got != "en-GB" {
		t.Errorf("with the language tables: %q, want en-GB", got)
	}
	if got := c.With(app.Function{}).Surveys.DefaultLanguage; got != "en-gb" {
		t.Errorf("without the language tables: %q, want en-gb", got)
	}
	for _, bad := range []map[string]string{{"DEFAULT_LANGUAGE": "not a language"}, {"SATISFACTION_TARGET": "120%"}, {"SURVEY_LINK_TTL": "-1h"}} {
		if _, err := app.Load(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestCustomerLanguage(t *testing.T) {
	c, err := app.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c = c.With(everything.Function)
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"zh-CN", "zh-CN", true},
		{"ZH-cn", "zh-CN", true},
		{"en", "en", true},
		{"", "", true},
		{"english please", "", false},
		{"zh_CN", "", false},
		{"e", "", false},
	} {
		out, err := c.Policy.Standardize(crm.CustomerInput{Name: "Li Wei", Email: "li@example.com", Language: tc.in})
		if ok := err == nil; ok != tc.ok || ok && out.Language != tc.want {
			t.Errorf("%q: got %q, %v; want %q, ok %v", tc.in, out.Language, err, tc.want, tc.ok)
		}
	}
}
