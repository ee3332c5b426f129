// Package infra is Clientele's AWS CDK stack: the main DynamoDB table and the
// append-only audit log, both encrypted with a customer-managed KMS key and
// backed up by AWS Backup; one Lambda per function of the route table; the
// reminder job's schedule and the reports function's stream consumer; alarms
// and notifications topics; a Cognito user pool whose groups are the roles;
// and an HTTP API whose routes are the route table. The app that synthesizes
// it is infra/cmd/app.
package infra

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// StackProps configures NewStack.
type StackProps struct {
	awscdk.StackProps
	// Routes is the HTTP surface, normally api.Routes(). Each distinct
	// Route.Function becomes one Lambda function.
	Routes []api.Route
	// CodeDir returns the directory holding the built, executable `bootstrap`
	// of function; the directory becomes the function's code asset.
	CodeDir func(function string) string
}

// Validate reports whether NewStack can build a stack from p: there is at
// least one route, no two routes share a key, every route names a function,
// and every function's bootstrap exists and is executable. A missing bootstrap
// is an error wrapping fs.ErrNotExist.
//
// NewStack does not call Validate because the CDK reports construction errors
// by panicking through jsii; callers validate first so that a missing build
// is an ordinary error.
func (p *StackProps) Validate() error {
	if p == nil || len(p.Routes) == 0 {
		return errors.New("stack props: no routes")
	}
	if p.CodeDir == nil {
		return errors.New("stack props: no CodeDir")
	}
	seen := make(map[string]bool, len(p.Routes))
	for _, r := range p.Routes {
		if seen[r.Key()] {
			return fmt.Errorf("route %s: declared twice", r.Key())
		}
		seen[r.Key()] = true
		if r.Function == "" {
			return fmt.Errorf("route %s: no function", r.Key())
		}
	}
	for _, fn := range Functions(p.Routes) {
		path := filepath.Join(p.CodeDir(fn), "bootstrap")
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("function %s: %w", fn, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("function %s: %s is not an executable file", fn, path)
		}
	}
	return nil
}

// Functions returns the distinct functions that serve routes, sorted, so the
// stack's constructs do not depend on the order of the route table.
func Functions(routes []api.Route) []string {
	var fns []string
	for _, r := range routes {
		if !slices.Contains(fns, r.Function) {
			fns = append(fns, r.Function)
		}
	}
	slices.Sort(fns)
	return fns
}

// FeatureFlags returns the CDK feature flags the stack is written against. They
// live in code rather than in cdk.json so that `go run ./infra/cmd/app`, the
// `cdk` CLI and the template tests synthesize the same template.
func FeatureFlags() map[string]any {
	return map[string]any{
		// One merged statement per service instead of one per grant.
		"@aws-cdk/aws-iam:minimizePolicies": true,
		// Key grants name only the key, not every key in the account.
		"@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": true,
		"@aws-cdk/core:checkSecretUsage":                       true,
		"@aws-cdk/core:validateSnapshotRemovalPolicy":          true,
	}
}

// NewStack returns the Clientele stack. props must pass Validate; otherwise
// the CDK panics while constructing it.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)

	key := newKey(stack)
	table := newTable(stack, dynamo.MainTable, key)
	audit := newAuditTable(stack, key)
	backups := newBackups(stack, key, table, audit)
	topic := newTopic(stack, key)
	fns := newFunctions(stack, Functions(props.Routes), props.CodeDir, table, audit, key, topic)
	alarms := newAlarms(stack, key)
	if fn, ok := fns[api.FnReminders]; ok {
		alarms.watchReminders(fn, newReminderSchedule(stack, fn))
	}
	if fn, ok := fns[api.FnReports]; ok {
		alarms.watchReports(fn, newReportsConsumer(stack, fn, table))
	}
	users := newUsers(stack)
	ifns := make(map[string]awslambda.IFunction, len(fns))
	for name, fn := range fns {
		ifns[name] = fn
	}
	httpAPI := newHTTPAPI(stack, props.Routes, ifns, users)

	output(stack, "ApiUrl", httpAPI.Url(), "Base URL of the HTTP API")
	output(stack, "UserPoolId", users.pool.UserPoolId(), "Cognito user pool that issues staff tokens")
	output(stack, "UserPoolClientId", users.client.UserPoolClientId(), "App client (audience) for web and mobile sign-in")
	output(stack, "TableName", table.TableName(), "Main DynamoDB table")
	output(stack, "AuditTableName", audit.TableName(), "Append-only, hash-chained audit log table")
	output(stack, "BackupPlanId", backups.BackupPlanId(), "AWS Backup plan of both tables")
	output(stack, "KeyArn", key.KeyArn(), "KMS key for table encryption and field envelopes")
	output(stack, "AlarmTopicArn", alarms.topic.TopicArn(), "SNS topic of the stack's alarms (subscribe the on-call)")
	output(stack, "NotificationsTopicArn", topic.TopicArn(), "SNS topic of staff and customer notifications (ids only)")
	return stack
}

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}
