// Command app is Clientele's CDK app: it synthesizes the stack of one stage,
// configured by stages/<stage>.json, into the cloud assembly directory named
// by CDK_OUTDIR (set by the cdk CLI), or cdk.out when that is unset. The
// stage is the CDK context value "stage" (`cdk deploy -c stage=prod`, or
// `make synth STAGE=prod`). Run it from the repository root, after
// `make build` has put each function's bootstrap under bin/<function>/; it
// refuses binaries older than the sources they are built from. It needs
// neither AWS credentials nor the cdk CLI.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	name, err := stageName(getenv)
	if err != nil {
		return err
	}
	stage, err := infra.LoadStage(filepath.Join("stages", name+".json"))
	if err != nil {
		return err
	}
	props := &infra.StackProps{
		StackProps: awscdk.StackProps{
			Env:         env(getenv),
			Description: jsii.String("Clientele CRM backend (" + stage.Name + ")"),
		},
		Stage:      stage,
		Routes:     api.Routes(),
		CodeDir:    func(fn string) string { return filepath.Join("bin", fn) },
		ConsoleDir: infra.DefaultConsoleDir,
	}
	if err := props.Validate(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (run `make build` first)", err)
		}
		return err
	}
	if err := checkFresh(".", infra.Functions(props.Routes)); err != nil {
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
	infra.NewStack(app, infra.StackName(stage.Name), props)
	if stage.Edge != nil {
		infra.NewEdgeStack(app, stage, awscdk.StackProps{
			Description: jsii.String("Clientele CRM public edge (" + stage.Name + ")"),
		})
	}
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

// stageName returns the stage the cdk CLI passed as context ("-c
// stage=prod"), which it hands to the app in CDK_CONTEXT_JSON. There is no
// default: deploying to the wrong stage is worse than typing its name.
func stageName(getenv func(string) string) (string, error) {
	var ctx struct {
		Stage string `json:"stage"`
	}
	if raw := getenv("CDK_CONTEXT_JSON"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &ctx); err != nil {
			return "", fmt.Errorf("CDK_CONTEXT_JSON: %w", err)
		}
	}
	if ctx.Stage == "" {
		stages, _ := filepath.Glob(filepath.Join("stages", "*.json"))
		for i, s := range stages {
			stages[i] = strings.TrimSuffix(filepath.Base(s), ".json")
		}
		return "", fmt.Errorf("no stage: pass -c stage=<name> to cdk, or STAGE=<name> to make (stages: %s)", strings.Join(stages, ", "))
	}
	return ctx.Stage, nil
}
