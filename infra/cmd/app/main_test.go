package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// inRepoCopy changes to a temporary directory holding the repository's
// stage files and go.mod, as the app sees the repository root.
func inRepoCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "stages"), os.DirFS("../../../stages")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

func stageEnv(stage string) func(string) string {
	return func(k string) string {
		if k == "CDK_CONTEXT_JSON" {
			return `{"stage":"` + stage + `"}`
		}
		return ""
	}
}

func TestRun(t *testing.T) {
	t.Run("ErrNotBuilt", func(t *testing.T) {
		inRepoCopy(t)
		err := run(stageEnv("dev"))
		if err == nil || !strings.Contains(err.Error(), "make build") {
			t.Fatalf("run() = %v, want an error telling to run make build", err)
		}
	})
	t.Run("ErrNoStage", func(t *testing.T) {
		inRepoCopy(t)
		err := run(func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "stage=") || !strings.Contains(err.Error(), "dev, prod") {
			t.Fatalf("run() = %v, want an error naming the stages", err)
		}
	})
	t.Run("ErrUnknownStage", func(t *testing.T) {
		inRepoCopy(t)
		if err := run(stageEnv("qa")); err == nil || !strings.Contains(err.Error(), "qa.json") {
			t.Fatalf("run() = %v, want the missing stage file named", err)
		}
	})
}

func TestCheckFresh(t *testing.T) {
	dir := t.TempDir()
	write := func(path string, at time.Time) {
		t.Helper()
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	old, now := time.Now().Add(-time.Hour), time.Now()
	write("go.mod", old)
	write("internal/crm/crm.go", old)
	write("internal/crm/crm_test.go", now) // tests are not in the binary
	write("functions/customers/main.go", old)
	write("bin/customers/bootstrap", now.Add(-time.Minute))
	write("bin/reports/bootstrap", now.Add(-time.Minute))
	if err := checkFresh(dir, []string{"customers", "reports"}); err != nil {
		t.Fatalf("fresh binaries: %v", err)
	}

	write("internal/crm/crm.go", now)
	err := checkFresh(dir, []string{"customers", "reports"})
	if err == nil || !strings.Contains(err.Error(), "bin/customers/bootstrap") || !strings.Contains(err.Error(), "internal/crm/crm.go") {
		t.Fatalf("checkFresh() = %v, want the stale binaries and the newer source named", err)
	}
	if err := checkFresh(dir, []string{"complaints"}); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("checkFresh() = %v, want make build for a missing binary", err)
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want *awscdk.Environment
	}{
		{"AgnosticWithoutCLI", nil, nil},
		{"AccountAndRegion", map[string]string{"CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "eu-west-1"},
			&awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}},
		{"RegionOnly", map[string]string{"CDK_DEFAULT_REGION": "eu-west-1"},
			&awscdk.Environment{Region: jsii.String("eu-west-1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env(func(k string) string { return tt.vars[k] })
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("env() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
