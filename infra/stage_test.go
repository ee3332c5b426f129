package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

// stageFile returns the path of the checked-in stage file name.
func stageFile(name string) string { return filepath.Join("..", "stages", name+".json") }

func TestCheckedInStagesLoad(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		s, err := LoadStage(stageFile(name))
		if err != nil {
			t.Fatalf("LoadStage(%s): %v", name, err)
		}
		if s.Name != name {
			t.Errorf("stages/%s.json names stage %q", name, s.Name)
		}
	}
}

func TestStageValidateNamesEveryProblem(t *testing.T) {
	s, err := LoadStage(stageFile("dev"))
	if err != nil {
		t.Fatal(err)
	}
	s.Name = "Dev!"
	s.Settings["TABLE_NAME"] = "x"
	s.Settings["PHONE_REGOIN"] = "DE"
	s.Settings["PHONE_REGION"] = "Germany"
	s.Settings["QUALITY_TARGETS"] = "completeness=high"
	s.Settings["CORS_ORIGINS"] = "*"
	s.Settings["REMINDER_INTERVAL"] = "5m"
	s.LogRetentionDays = 8
	s.API.Public.Rate = s.API.Staff.Rate + 1
	s.Auth.MobileCallbackURLs = []string{"https://example.com/cb"}
	s.Functions = map[string]FunctionConfig{"customers": {MemoryMB: 64, TimeoutSeconds: 1000, ReservedConcurrency: -1}}
	err = s.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want every problem")
	}
	for _, want := range []string{
		`name "Dev!"`,
		"settings.TABLE_NAME: set by the stack",
		"settings.PHONE_REGOIN: not a setting",
		"PHONE_REGION must be",
		"QUALITY_TARGETS:",
		`settings.CORS_ORIGINS: "*"`,
		"settings.REMINDER_INTERVAL: local runtime only",
		"logRetentionDays 8",
		"api.public.rate",
		"auth.mobileCallbackURLs",
		"functions.customers.memoryMB 64",
		"functions.customers.timeoutSeconds 1000",
		"functions.customers.reservedConcurrency -1",
		"auth.domainPrefix \"clientele-dev\": must contain the stage name",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() does not name %q:\n%v", want, err)
		}
	}
}

func TestLoadStageRefusesUnknownFields(t *testing.T) {
	raw, err := os.ReadFile(stageFile("dev"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "typo.json")
	typo := strings.Replace(string(raw), `"canary"`, `"canery"`, 1)
	if err := os.WriteFile(path, []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStage(path); err == nil || !strings.Contains(err.Error(), "canery") {
		t.Fatalf("LoadStage() = %v, want the unknown field named", err)
	}
}

func TestStageTargetsFollowQualityTargets(t *testing.T) {
	s := &Stage{Settings: map[string]string{"QUALITY_TARGETS": "completeness=80%,invalid=10%"}}
	got := s.Targets()
	want := crm.DefaultTargets
	want.Completeness, want.Invalid = 0.8, 0.1
	if got != want {
		t.Errorf("Targets() = %+v, want %+v", got, want)
	}
}

func TestStageValidateEdge(t *testing.T) {
	s, err := LoadStage(stageFile("dev"))
	if err != nil {
		t.Fatal(err)
	}
	s.Edge = &Edge{DomainName: "portal.example.com", CertificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/x", RateLimit: 5}
	err = s.Validate()
	for _, want := range []string{"edge: needs api.domainName", "edge.certificateArn", "in us-east-1", "edge.rateLimit 5"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}
