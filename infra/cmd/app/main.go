// Command app is Clientele's CDK app: it synthesizes the Clientele stack into
// the cloud assembly directory named by CDK_OUTDIR (set by the cdk CLI), or
// cdk.out when that is unset. Run it from the repository root, after
// `make build` has put each function's bootstrap under bin/<function>/; it
// needs neither AWS credentials nor the cdk CLI.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/infra"
	"github.com/clientele-crm/clientele/internal/api"
)

func main() {
	if err := run(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run(getenv func(string) string) error {
	props := &infra.StackProps{
		StackProps: awscdk.StackProps{
			Env:         env(getenv),
			Description: jsii.String("Clientele CRM backend"),
		},
		Routes:  api.Routes(),
		CodeDir: func(fn string) string { return filepath.Join("bin", fn) },
	}
	if err := props.Validate(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (run `make build` first)", err)
		}
		return err
	}

	defer jsii.Close()
	flags := infra.FeatureFlags()
	appProps := &awscdk.AppProps{Context: &flags}
	// The cdk CLI names the output directory in CDK_OUTDIR and rejects an
	// app that writes elsewhere; run alone, the app writes where the CLI
	// would instead of to a temporary directory.
	if getenv("CDK_OUTDIR") == "" {
		appProps.Outdir = jsii.String("cdk.out")
	}
	app := awscdk.NewApp(appProps)
	infra.NewStack(app, "Clientele", props)
	app.Synth(nil)
	return nil
}

// env pins the stack to the account and region the cdk CLI resolved from the
// caller's credentials. Without them the stack is environment-agnostic, so
// synthesis needs no AWS account.
func env(getenv func(string) string) *awscdk.Environment {
	account, region := getenv("CDK_DEFAULT_ACCOUNT"), getenv("CDK_DEFAULT_REGION")
	if account == "" && region == "" {
		return nil
	}
	var e awscdk.Environment
	if account != "" {
		e.Account = jsii.String(account)
	}
	if region != "" {
		e.Region = jsii.String(region)
	}
	return &e
}
