package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestRun(t *testing.T) {
	t.Run("ErrNotBuilt", func(t *testing.T) {
		t.Chdir(t.TempDir())
		err := run(func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "make build") {
			t.Fatalf("run() = %v, want an error telling to run make build", err)
		}
	})
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
