package infra

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/dynamo"
)

// function is one Lambda function and the alias that everything invokes
// ("live"): the API, the schedule and the stream. A deploy publishes a new
// version and moves the alias, at once or as a canary (see newDeployments),
// so a bad version is rolled back by moving the alias back.
type function struct {
	fn    awslambda.Function
	alias awslambda.Alias
}

// newFunctions returns one Lambda function per name, keyed by name, each
// running the `bootstrap` found in codeDir(name), sized as the stage says.
//
// Each function gets exactly the access its code uses: items (and indexes) of
// the table, appending to and reading the audit log (auditStatement) and
// adding to the access counts kept beside it (accessCountStatement), the
// table key through DynamoDB only, and the field key for the purposes it
// seals and opens (grantKeys).
//
// Every function gets every setting of the stage: each one loads the whole
// configuration at cold start (internal/app.Start) and refuses to start on a
// bad value, and a setting given to one function but not another would make
// them disagree (a phone number normalized by one region on write and
// another in a report).
func newFunctions(scope constructs.Construct, st *Stage, names []string, codeDir func(string) string, table, audit awsdynamodb.ITable, key, fieldKey, notificationsKey, opsKey awskms.IKey, topic awssns.ITopic) map[string]*function {
	fns := make(map[string]*function, len(names))
	for _, name := range names {
		id := "Fn" + exportedName(name)
		size := st.Function(name)
		// Created here rather than left to Lambda so that it has a
		// retention period and the operations key. A retaining stage keeps
		// it with the stack's deletion so an incident can still be
		// investigated; the retention bounds it.
		logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     st.logRetention(),
			RemovalPolicy: removalPolicy(st),
			EncryptionKey: opsKey,
		})
		env := map[string]*string{
			"TABLE_NAME":       table.TableName(),
			"AUDIT_TABLE_NAME": audit.TableName(),
			"KEYRING":          jsii.String("kms"),
			"KMS_KEY_ID":       fieldKey.KeyArn(),
			// Envelopes sealed before the field key existed.
			"LEGACY_KMS_KEY_ID": key.KeyArn(),
			"STAGE":             jsii.String(st.Name),
			// Requests end within the function's own timeout.
			"FUNCTION_TIMEOUT": jsii.String(fmt.Sprintf("%ds", size.TimeoutSeconds)),
		}
		for k, v := range st.Settings {
			env[k] = jsii.String(v)
		}
		// The function's own role rather than the CDK's default, whose AWS
		// managed policy lets it write to any log group of the account:
		// this one may write to its own group only.
		role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("Clientele " + st.Name + " " + name + " function"),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logs.LogGroupArn()),
		}))
		props := &awslambda.FunctionProps{
			Role:          role,
			Description:   jsii.String("Clientele " + st.Name + " " + name),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          awslambda.Code_FromAsset(jsii.String(codeDir(name)), nil),
			MemorySize:    jsii.Number(size.MemoryMB),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(size.TimeoutSeconds)),
			LogGroup:      logs,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			// Lambda continues the trace whose X-Amzn-Trace-Id header API
			// Gateway passes on, and samples the schedule's and stream's
			// invocations itself.
			Tracing:     awslambda.Tracing_ACTIVE,
			Environment: &env,
		}
		if size.ReservedConcurrency > 0 {
			props.ReservedConcurrentExecutions = jsii.Number(size.ReservedConcurrency)
		}
		fn := awslambda.NewFunction(scope, jsii.String(id), props)
		grantKeys(fn, name, table, key, fieldKey)
		fn.AddToRolePolicy(auditStatement(audit))
		fn.AddToRolePolicy(accessCountStatement(audit))
		if slices.Contains(publishers, name) {
			grantPublish(fn, topic, notificationsKey)
			fn.AddEnvironment(jsii.String("TOPIC_ARN"), topic.TopicArn(), nil)
		}
		suppress(role, "AwsSolutions-IAM5",
			"Actions without resource-level permissions: xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) and, for the stream consumer, dynamodb:ListStreams, which only lists stream names",
			"Resource::*")
		suppress(role, "AwsSolutions-IAM5",
			"Every index of this stack's own tables: the functions query the indexes that internal/dynamo declares, and index ARNs can only be listed by name or by this table-scoped wildcard",
			"Resource::<"+*scopeLogicalID(scope, table)+".Arn>/index/*", "Resource::<"+*scopeLogicalID(scope, audit)+".Arn>/index/*")
		alias := awslambda.NewAlias(scope, jsii.String(id+"Live"), &awslambda.AliasProps{
			AliasName: jsii.String("live"),
			Version:   fn.CurrentVersion(),
		})
		fns[name] = &function{fn: fn, alias: alias}
	}
	return fns
}

// auditActions are all a function may do to the audit log: add an entry (a
// PutItem conditioned on attribute_not_exists(SK), inside TransactWriteItems,
// which DynamoDB authorizes per item action), and read entries. No grant of
// the table's own (GrantReadWriteData, GrantWriteData) is used: they include
// UpdateItem, DeleteItem and BatchWriteItem, which would let a function
// rewrite or remove the records the hash chain protects.
var auditActions = []string{
	"dynamodb:PutItem",
	"dynamodb:ConditionCheckItem",
	"dynamodb:GetItem",
	"dynamodb:Query",
	"dynamodb:DescribeTable",
}

// accessCountStatement allows UpdateItem on the audit table's access count
// items only (dynamo.AccessLog, which adds to them): every partition key
// the request names must begin with dynamo.AccessKeyPrefix. Entries live
// under other keys, so the condition keeps them put-only.
func accessCountStatement(audit awsdynamodb.ITable) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:UpdateItem"),
		Resources: jsii.Strings(*audit.TableArn()),
		Conditions: &map[string]any{"ForAllValues:StringLike": map[string]any{
			"dynamodb:LeadingKeys": []string{dynamo.AccessKeyPrefix + "*"},
		}},
	})
}

// auditStatement allows auditActions on the audit table and its indexes.
func auditStatement(audit awsdynamodb.ITable) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings(auditActions...),
		Resources: jsii.Strings(
			*audit.TableArn(),
			*audit.TableArn()+"/index/*",
		),
	})
}

// exportedName turns a function name such as "customers" or "audit-log" into
// an identifier fragment ("Customers", "AuditLog") for construct ids, which
// become CloudFormation logical ids.
func exportedName(name string) string {
	out := make([]byte, 0, len(name))
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			upper = true
			continue
		}
		out = append(out, c)
		upper = false
	}
	return string(out)
}

// scopeLogicalID returns the logical id of table's resource, as cdk-nag
// names it in a finding.
func scopeLogicalID(scope constructs.Construct, table awsdynamodb.ITable) *string {
	return awscdk.Stack_Of(scope).GetLogicalId(table.Node().DefaultChild().(awscdk.CfnElement))
}
