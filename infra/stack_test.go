package infra

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/api"
)

func TestValidate(t *testing.T) {
	routes := []api.Route{
		{Method: "GET", Path: "/healthz", Function: "customers"},
		{Method: "GET", Path: "/complaints", Function: "complaints"},
	}
	built := func(tb testing.TB, mode os.FileMode) func(string) string {
		tb.Helper()
		dir := tb.TempDir()
		for _, fn := range []string{"customers", "complaints", "imports"} {
			if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), nil, mode); err != nil {
				tb.Fatal(err)
			}
		}
		return func(fn string) string { return filepath.Join(dir, fn) }
	}

	t.Run("OK", func(t *testing.T) {
		p := &StackProps{Stage: loadStage(t, "dev"), Routes: routes, CodeDir: built(t, 0o755), ConsoleDir: testConsoleDir}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrBootstrapMissing", func(t *testing.T) {
		dir := t.TempDir()
		p := &StackProps{Stage: loadStage(t, "dev"), Routes: routes, CodeDir: func(fn string) string { return filepath.Join(dir, fn) }, ConsoleDir: testConsoleDir}
		err := p.Validate()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Validate() = %v, want fs.ErrNotExist", err)
		}
		if !strings.Contains(err.Error(), "complaints") {
			t.Errorf("Validate() = %v, want it to name the function", err)
		}
	})

	t.Run("ErrBootstrapNotExecutable", func(t *testing.T) {
		p := &StackProps{Stage: loadStage(t, "dev"), Routes: routes, CodeDir: built(t, 0o644), ConsoleDir: testConsoleDir}
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "not an executable") {
			t.Fatalf("Validate() = %v, want not an executable", err)
		}
	})

	t.Run("ErrDuplicateRoute", func(t *testing.T) {
		p := &StackProps{Stage: loadStage(t, "dev"), Routes: append(routes, routes[0]), CodeDir: built(t, 0o755), ConsoleDir: testConsoleDir}
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "GET /healthz") {
			t.Fatalf("Validate() = %v, want duplicate GET /healthz", err)
		}
	})

	t.Run("ErrNoFunction", func(t *testing.T) {
		p := &StackProps{Stage: loadStage(t, "dev"), Routes: []api.Route{{Method: "GET", Path: "/x"}}, CodeDir: built(t, 0o755), ConsoleDir: testConsoleDir}
		if err := p.Validate(); err == nil {
			t.Fatal("Validate() = nil, want error")
		}
	})

	t.Run("ErrConsoleDirMissing", func(t *testing.T) {
		p := &StackProps{Stage: loadStage(t, "dev"), Routes: routes, CodeDir: built(t, 0o755), ConsoleDir: t.TempDir()}
		if err := p.Validate(); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), DefaultConsoleDir) {
			t.Fatalf("Validate() = %v, want the console's index.html missing, naming %s", err, DefaultConsoleDir)
		}
	})

	t.Run("ErrNoRoutes", func(t *testing.T) {
		p := &StackProps{CodeDir: built(t, 0o755), ConsoleDir: testConsoleDir}
		if err := p.Validate(); err == nil {
			t.Fatal("Validate() = nil, want error")
		}
	})
}

func TestFunctionsOfRoutes(t *testing.T) {
	routes := []api.Route{
		{Function: "reports"}, {Function: "customers"}, {Function: "reports"}, {Function: "complaints"},
	}
	got := Functions(routes)
	want := []string{"complaints", "customers", "imports", "reports"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Functions() = %v, want %v", got, want)
	}
}

func TestExportedName(t *testing.T) {
	for in, want := range map[string]string{
		"customers": "Customers",
		"audit-log": "AuditLog",
		"v2_stream": "V2Stream",
		"Reports":   "Reports",
	} {
		if got := exportedName(in); got != want {
			t.Errorf("exportedName(%q) = %q, want %q", in, got, want)
		}
	}
}

// loadStage returns the checked-in stage name.
func loadStage(tb testing.TB, name string) *Stage {
	tb.Helper()
	s, err := LoadStage(stageFile(name))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestValidateStageFunctions(t *testing.T) {
	dir := t.TempDir()
	st := loadStage(t, "dev")
	st.Functions = map[string]FunctionConfig{"customer": DefaultFunction}
	p := &StackProps{Stage: st, Routes: []api.Route{{Method: "GET", Path: "/healthz", Function: "customers"}}, CodeDir: func(fn string) string { return filepath.Join(dir, fn) }, ConsoleDir: testConsoleDir}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "functions.customer: no such function") {
		t.Fatalf("Validate() = %v, want the unknown function named", err)
	}
}

func TestStageEnvironmentWins(t *testing.T) {
	st := loadStage(t, "dev")
	st.Account, st.Region = "111111111111", "eu-west-1"
	dir := t.TempDir()
	for _, fn := range Functions(api.Routes()) {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	props := &StackProps{
		// What the cdk CLI would pass from other credentials.
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("us-east-2")}},
		Stage:      st, Routes: api.Routes(), CodeDir: func(fn string) string { return filepath.Join(dir, fn) },
		ConsoleDir: testConsoleDir,
	}
	if err := props.Validate(); err != nil {
		t.Fatal(err)
	}
	stack := NewStack(newTestApp(), StackName(st.Name), props)
	if *stack.Account() != st.Account || *stack.Region() != st.Region || *stack.StackName() != "Clientele-dev" {
		t.Errorf("stack %s in %s/%s, want Clientele-dev in the stage's %s/%s", *stack.StackName(), *stack.Account(), *stack.Region(), st.Account, st.Region)
	}
}
