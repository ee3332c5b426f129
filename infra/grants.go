package infra

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// fieldGrants are the purposes each function seals and opens: the
// application's own table (app.FieldGrants), which a test also enforces on
// the functions' code.
var fieldGrants = app.FieldGrants()

// dataActions are the DynamoDB actions of GrantReadWriteData, granted on the
// main table alone: that grant would also give the table key to the
// function, with kms:ReEncrypt* and without kms:ViaService.
var dataActions = []string{
	"dynamodb:BatchGetItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:Query",
	"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:ConditionCheckItem",
	"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:DescribeTable",
}

// grantKeys gives fn what it needs of the keys: the table key only through
// DynamoDB, the field key only for its purposes (fieldGrants) and the
// blind-index key, and, for envelopes sealed before the field key existed,
// the table key for the same entities only.
func grantKeys(fn awsiam.IGrantable, name string, table awsdynamodb.ITable, tableKey, fieldKey awskms.IKey) {
	table.Grant(fn, *jsii.Strings(dataActions...)...)
	policy := fn.GrantPrincipal().(awsiam.IPrincipal)
	add := func(st awsiam.PolicyStatement) { policy.AddToPrincipalPolicy(st) }
	add(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"),
		Resources: jsii.Strings(*tableKey.KeyArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:ViaService": "dynamodb." + *awscdk.Aws_REGION() + ".amazonaws.com",
		}},
	}))
	g := fieldGrants[name]
	// Every function may be the first to need the blind-index key, and
	// the first creates it.
	seal := append([]string{dynamo.PurposeBlindIndex}, g.Seal...)
	add(purposeStatement(fieldKey, []string{"kms:Decrypt", "kms:GenerateDataKey"}, seal))
	if len(g.Open) > 0 {
		add(purposeStatement(fieldKey, []string{"kms:Decrypt"}, g.Open))
	}
	// What the table key wrapped before: the first blind-index key, and
	// envelopes sealed under {table, entity}, which name no purpose.
	add(purposeStatement(tableKey, []string{"kms:Decrypt"}, []string{dynamo.PurposeBlindIndex}))
	entities := dynamo.EntitiesOf(slices.Concat(g.Seal, g.Open)...)
	if len(entities) == 0 {
		return
	}
	add(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Decrypt"),
		Resources: jsii.Strings(*tableKey.KeyArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{
				"kms:EncryptionContext:table":  dynamo.LogicalTable,
				"kms:EncryptionContext:entity": entities,
			},
			"Null": map[string]any{"kms:EncryptionContext:purpose": "true"},
		},
	}))
}

// purposeStatement allows actions on key for data keys whose encryption
// context names this table and one of purposes.
func purposeStatement(key awskms.IKey, actions, purposes []string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(*key.KeyArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:EncryptionContext:table":   dynamo.LogicalTable,
			"kms:EncryptionContext:purpose": purposes,
		}},
	})
}

// grantPublish lets fn publish to topic, and use topic's key only as SNS
// does for a publisher: the CDK's GrantPublish would give kms:GenerateDataKey*
// on the key for any use.
func grantPublish(fn awslambda.IFunction, topic awssns.ITopic, key awskms.IKey) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sns:Publish"),
		Resources: jsii.Strings(*topic.TopicArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources: jsii.Strings(*key.KeyArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:ViaService": "sns." + *awscdk.Aws_REGION() + ".amazonaws.com",
		}},
	}))
}
