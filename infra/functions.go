package infra

import (
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

	"github.com/clientele-crm/clientele/internal/api"
)

// newFunctions returns one Lambda function per name, keyed by name, each
// running the `bootstrap` found in codeDir(name).
//
// Each function gets exactly the access its code uses: items (and indexes) of
// the table, appending to and reading the audit log (auditStatement), and the
// key for envelope encryption. GrantEncryptDecrypt includes
// kms:GenerateDataKey*, which the KMS keyring calls to seal a field, and the
// decryption both tables' encryption at rest needs.
func newFunctions(scope constructs.Construct, names []string, codeDir func(string) string, table, audit awsdynamodb.ITable, key awskms.IKey, topic awssns.ITopic) map[string]awslambda.Function {
	fns := make(map[string]awslambda.Function, len(names))
	for _, name := range names {
		id := "Fn" + exportedName(name)
		// Created here rather than left to Lambda so that it has a
		// retention period. Retained with the stack's deletion so an
		// incident can still be investigated; the retention bounds it.
		logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_ONE_MONTH,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
			Description:   jsii.String("Clientele " + name),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          awslambda.Code_FromAsset(jsii.String(codeDir(name)), nil),
			MemorySize:    jsii.Number(sizing(name).memory),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(sizing(name).timeout)),
			LogGroup:      logs,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			Environment: &map[string]*string{
				"TABLE_NAME":       table.TableName(),
				"AUDIT_TABLE_NAME": audit.TableName(),
				"KEYRING":          jsii.String("kms"),
				"KMS_KEY_ID":       key.KeyArn(),
			},
		})
		table.GrantReadWriteData(fn)
		fn.AddToRolePolicy(auditStatement(audit))
		key.GrantEncryptDecrypt(fn)
		if slices.Contains(publishers, name) {
			topic.GrantPublish(fn)
			fn.AddEnvironment(jsii.String("TOPIC_ARN"), topic.TopicArn(), nil)
		}
		fns[name] = fn
	}
	return fns
}

// size is a function's memory (MB) and timeout (seconds).
type size struct{ memory, timeout float64 }

// sizing gives API functions 10 seconds; the reminder job, which works
// through everything due, five minutes; the reports function, which also
// consumes stream batches, one.
func sizing(name string) size {
	switch name {
	case api.FnReminders:
		return size{512, 300}
	case api.FnReports:
		return size{512, 60}
	}
	return size{256, 10}
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
