package app

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clientele-crm/clientele/internal/api"
)

// TestLambdaAWSConfigTakesTheEnvironment checks that a Lambda function,
// which has no default chain, signs with the credentials and region the
// Lambda runtime puts in its environment, retrying as every client does;
// that it refuses to start without them; and that a process with a chain
// hands it the same region, retryer and HTTP client.
func TestLambdaAWSConfigTakesTheEnvironment(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY": "lambda-secret",
		"AWS_SESSION_TOKEN": "lambda-token", "KEYRING": "kms", "KMS_KEY_ID": "alias/k"}
	cfg, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	fn := Function{Name: api.FnReminders}
	awsCfg, err := cfg.AWS(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	if awsCfg.Region != "eu-west-3" {
		t.Errorf("region %q, want the environment's", awsCfg.Region)
	}
	creds, err := awsCfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDLAMBDA" || creds.SecretAccessKey != "lambda-secret" || creds.SessionToken != "lambda-token" {
		t.Error("the credentials are not the environment's")
	}
	if awsCfg.Retryer == nil || awsCfg.Retryer().MaxAttempts() != 3 || awsCfg.HTTPClient == nil {
		t.Error("the retryer or HTTP client is not the one every client shares")
	}

	delete(env, "AWS_SECRET_ACCESS_KEY")
	if cfg, err = Load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.AWS(ctx, fn); err == nil {
		t.Error("no error without credentials in the environment")
	}

	var base aws.Config
	fn.AWSChain = func(_ context.Context, b aws.Config) (aws.Config, error) { base = b; return b, nil }
	if _, err := cfg.AWS(ctx, fn); err != nil {
		t.Fatal(err)
	}
	if base.Region != "eu-west-3" || base.Retryer == nil || base.Retryer().MaxAttempts() != 3 || base.HTTPClient == nil {
		t.Errorf("the chain got region %q and not the shared retryer and HTTP client", base.Region)
	}
}
