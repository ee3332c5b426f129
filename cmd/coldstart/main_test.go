package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ErrNoRuns", []string{"-n", "0"}, "usage"},
		{"ErrNoTraces", []string{"-traces", "0"}, "usage"},
		{"ErrStrayArgument", []string{"customers"}, "usage"},
		{"ErrEventNotNameFile", []string{"-event", "customers"}, "not name=file"},
		{"ErrEnvNotKeyValue", []string{"-env", "=x"}, "not KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// The root has no functions: a run that got past its flags
			// would fail there, with another message.
			args := append([]string{"-root", t.TempDir()}, tt.args...)
			err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%v) = %v, want an error saying %q", tt.args, err, tt.want)
			}
		})
	}
	t.Run("ErrNoFunctions", func(t *testing.T) {
		err := run(context.Background(), []string{"-root", t.TempDir()}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "no functions") {
			t.Errorf("run = %v, want no functions", err)
		}
	})
}

func TestFunctionNames(t *testing.T) {
	names, err := functionNames("../..")
	if err != nil {
		t.Fatal(err)
	}
	// Every function is measured, whatever functions/ holds; these four
	// are the product's and must be among them.
	for _, want := range []string{"complaints", "customers", "reminders", "reports"} {
		if !slices.Contains(names, want) {
			t.Errorf("functionNames = %v, lacks %s", names, want)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("functionNames = %v, not sorted", names)
	}
}

func TestLambdaEnv(t *testing.T) {
	env := append(lambdaEnv("http://127.0.0.1:8000", "t1", "/state"), functionEnv("customers")...)
	for _, want := range []string{
		"TABLE_NAME=t1", "AUDIT_TABLE_NAME=t1-audit", "DYNAMODB_ENDPOINT=http://127.0.0.1:8000",
		"KEYRING=local", "CLIENTELE_STATE_DIR=/state", "AWS_REGION=us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME=clientele-customers",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("environment lacks %s", want)
		}
	}
	for _, e := range env {
		if strings.HasPrefix(e, "AWS_LAMBDA_RUNTIME_API=") {
			t.Error("the shared environment names a runtime API; each process gets its own")
		}
	}
}
