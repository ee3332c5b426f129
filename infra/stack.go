// Package infra is Clientele's AWS CDK stack, one per stage (stages/*.json,
// see Stage): the main DynamoDB table and the append-only audit log, both
// encrypted at rest with a customer-managed KMS key and, where the stage says so,
// backed up by AWS Backup; one Lambda per function of the route table, each
// behind a live alias; the reminder job's schedule and the reports function's
// stream consumer; alarms, a dashboard and the notifications topic; a Cognito
// user pool whose groups are the roles, with hosted sign-in for the web and
// mobile clients; and an HTTP API whose routes are the route table. An
// optional second stack puts CloudFront and AWS WAF in front of the public
// paths (NewEdgeStack). The app that synthesizes them is infra/cmd/app.
package infra

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// StackProps configures NewStack.
type StackProps struct {
	awscdk.StackProps
	// Stage is the deployment's configuration (stages/<name>.json).
	Stage *Stage
	// Routes is the HTTP surface, normally api.Routes(). Each distinct
	// Route.Function becomes one Lambda function.
	Routes []api.Route
	// CodeDir returns the directory holding the built, executable `bootstrap`
	// of function; the directory becomes the function's code asset.
	CodeDir func(function string) string
	// ConsoleDir holds the web console's files (DefaultConsoleDir from
	// the repository root), which the stack serves through CloudFront.
	ConsoleDir string
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
	if p.Stage == nil {
		return errors.New("stack props: no Stage")
	}
	if err := consoleDirOK(p.ConsoleDir); err != nil {
		return err
	}
	if err := p.Stage.Validate(); err != nil {
		return fmt.Errorf("stage %s: %w", p.Stage.Name, err)
	}
	for name := range p.Stage.Functions {
		if !slices.Contains(Functions(p.Routes), name) {
			return fmt.Errorf("stage %s: functions.%s: no such function (the functions are %v)", p.Stage.Name, name, Functions(p.Routes))
		}
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

// Functions returns the distinct functions that serve routes, and the
// imports function that processes what the customers function queues,
// sorted, so the stack's constructs do not depend on the order of the
// route table.
func Functions(routes []api.Route) []string {
	var fns []string
	for _, r := range routes {
		if !slices.Contains(fns, r.Function) {
			fns = append(fns, r.Function)
		}
	}
	if slices.Contains(fns, api.FnCustomers) {
		fns = append(fns, api.FnImports)
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

// StackName is the CloudFormation stack of stage name; every generated
// physical name begins with it.
func StackName(stage string) string { return "Clientele-" + stage }

// NewStack returns the Clientele stack of props.Stage. props must pass
// Validate; otherwise the CDK panics while constructing it.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	st := props.Stage
	sp := props.StackProps
	if sp.StackName == nil {
		sp.StackName = jsii.String(StackName(st.Name))
	}
	// The stage file's account and region win over the ones the cdk CLI
	// takes from the caller's credentials: deploying prod into whatever
	// account the shell points at is the mistake they prevent.
	if st.Account != "" || st.Region != "" {
		env := awscdk.Environment{}
		if sp.Env != nil {
			env = *sp.Env
		}
		if st.Account != "" {
			env.Account = jsii.String(st.Account)
		}
		if st.Region != "" {
			env.Region = jsii.String(st.Region)
		}
		sp.Env = &env
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	tags := awscdk.Tags_Of(stack)
	tags.Add(jsii.String("Application"), jsii.String("Clientele"), nil)
	tags.Add(jsii.String("Stage"), jsii.String(st.Name), nil)

	key := newKey(stack, st)
	fieldKey := newFieldKey(stack, st)
	opsKey := newOperationsKey(stack, st)
	table := newTable(stack, st, dynamo.MainTable, key)
	audit := newAuditTable(stack, st, key)
	var backups awsbackup.BackupPlan
	if st.Backups {
		backups = newBackups(stack, st, key, table, audit)
	}
	notificationsKey := newNotificationsKey(stack, st)
	topic := newTopic(stack, st, notificationsKey)
	names := Functions(props.Routes)
	fns := newFunctions(stack, st, names, props.CodeDir, table, audit, key, fieldKey, notificationsKey, opsKey, topic)
	alarms := newAlarms(stack, st, opsKey)
	for _, name := range names {
		alarms.watchFunction(name, fns[name])
		alarms.watchIntegrity(name, fns[name])
	}
	board := dashboardInputs{functions: fns, names: names, table: table, reminderName: api.FnReminders, reportsName: api.FnReports}
	digestKey := newDigestKey(stack, st)
	if fn, ok := fns[api.FnReminders]; ok {
		// The reminder schedule also writes the signed audit digest.
		grantDigestSigning(fn, digestKey)
		board.reminderDLQ = newReminderSchedule(stack, st, fn.alias)
		alarms.watchReminders(fn, board.reminderDLQ)
	}
	if fn, ok := fns[api.FnReports]; ok {
		board.streamDLQ = newReportsConsumer(stack, fn.alias, table)
		alarms.watchReports(fn, board.streamDLQ)
	}
	if fn, ok := fns[api.FnImports]; ok {
		dlq := newImportQueue(stack, fn, fns[api.FnCustomers])
		alarms.watchImports(dlq)
	}
	// Domain events: the bus (with its archive) and the webhooks' queue,
	// fed by the stream consumer.
	newDomainEvents(stack, st, fns[api.FnReports], fns[api.FnWebhooks], alarms)
	alarms.watchTable("Table", table)
	alarms.watchTable("AuditTable", audit)
	// The web console: its origin is a sign-in callback and a CORS
	// origin of the API, and its config.json names both.
	site := newConsoleSite(stack, st)
	if st.Settings["PORTAL_BASE_URL"] == "" {
		// Self-service links open the console's page, unless the stage
		// names another address for it (a domain of its own, the edge).
		for _, name := range names {
			fns[name].fn.AddEnvironment(jsii.String("PORTAL_BASE_URL"), jsii.String(site.origin()+"/self-service"), nil)
		}
	}
	users := newUsers(stack, st, site.origin()+"/")
	aliases := make(map[string]awslambda.IFunction, len(fns))
	for name, fn := range fns {
		aliases[name] = fn.alias
	}
	httpAPI := newHTTPAPI(stack, st, opsKey, props.Routes, aliases, users, site.origin())
	apiURL := httpAPI.ApiEndpoint()
	if st.API.DomainName != "" {
		apiURL = jsii.String("https://" + st.API.DomainName)
	}
	deployConsole(stack, st, site, props.ConsoleDir, apiURL, users, opsKey)
	alarms.watchAPI(httpAPI)
	alarms.watchAccess()
	board.api = httpAPI
	newDashboard(stack, st, board)
	newDeployments(stack, st, names, fns, alarms)

	o := outputs{stack: stack, stage: st.Name}
	o.add("ApiUrl", httpAPI.Url(), "Base URL of the HTTP API")
	o.add("UserPoolId", users.pool.UserPoolId(), "Cognito user pool that issues staff tokens")
	o.add("WebClientId", users.web.UserPoolClientId(), "App client of the web console (authorization code with PKCE)")
	o.add("MobileClientId", users.mobile.UserPoolClientId(), "App client of the mobile app (authorization code with PKCE)")
	for i, m := range st.Auth.MachineClients {
		o.add("MachineClientId"+exportedName(m.Name), users.machines[i].UserPoolClientId(),
			"App client of the integration "+m.Name+" (client credentials; its secret is in the app client's settings)")
	}
	o.add("SignInDomain", users.domain.BaseUrl(nil), "Hosted sign-in (OAuth 2.0 authorize and token endpoints)")
	o.add("ConsoleUrl", jsii.String(site.origin()+"/"), "The web console: staff sign in through the hosted sign-in; self-service links open its /self-service page")
	o.add("TableName", table.TableName(), "Main DynamoDB table")
	o.add("AuditTableName", audit.TableName(), "Append-only, hash-chained audit log table")
	if backups != nil {
		o.add("BackupPlanId", backups.BackupPlanId(), "AWS Backup plan of both tables")
	}
	o.add("KeyArn", key.KeyArn(), "KMS key of the tables at rest and their backups")
	o.add("FieldKeyArn", fieldKey.KeyArn(), "KMS key of field envelopes and the blind-index key")
	o.add("AuditDigestKeyArn", digestKey.KeyArn(), "KMS signing key of the audit digests (clientele audit verify needs kms:GetPublicKey)")
	o.add("AlarmTopicArn", alarms.topic.TopicArn(), "SNS topic of the stack's alarms (subscribe the on-call)")
	o.add("NotificationsTopicArn", topic.TopicArn(), "SNS topic of staff and customer notifications (ids only)")
	return stack
}

// outputs adds stack outputs, each exported under a name that carries the
// stage, so two stages in one account export distinct names.
type outputs struct {
	stack awscdk.Stack
	stage string
}

func (o outputs) add(id string, value *string, description string) {
	awscdk.NewCfnOutput(o.stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
		ExportName:  jsii.String(StackName(o.stage) + "-" + id),
	})
}
