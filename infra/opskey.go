package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newOperationsKey returns the key of the stack's operational data: log
// groups (which hold source IPs and user ids) and the alarm topic. It is
// apart from the key that protects personal data because CloudWatch Logs and
// CloudWatch alarms must be allowed to use it as services, and a service
// must never be able to decrypt personal data.
//
// Each service may use it only for this account's resources: CloudWatch
// Logs only under the encryption context of this account's log groups in
// this region, CloudWatch only on behalf of this account's alarms.
func newOperationsKey(scope constructs.Construct, st *Stage) awskms.Key {
	key := awskms.NewKey(scope, jsii.String("OperationsKey"), &awskms.KeyProps{
		Description:       jsii.String("Clientele " + st.Name + ": log groups and alarm notifications (no personal data)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removalPolicy(st),
		// Short in a stage that is torn down and rebuilt; the maximum
		// where the logs are retained.
		PendingWindow: awscdk.Duration_Days(jsii.Number(pendingWindow(st))),
	})
	logGroups := awscdk.Fn_Join(jsii.String(""), jsii.Strings(
		"arn:", *awscdk.Aws_PARTITION(), ":logs:", *awscdk.Aws_REGION(), ":", *awscdk.Aws_ACCOUNT_ID(), ":log-group:*",
	))
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsOfThisAccount"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*awscdk.Aws_REGION()+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{"kms:EncryptionContext:aws:logs:arn": logGroups}},
	}), jsii.Bool(false))
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsOfThisAccount"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), jsii.Bool(false))
	return key
}

// removalPolicy is what a stack deletion does to stateful resources: keep
// them where the stage retains, delete them otherwise.
func removalPolicy(st *Stage) awscdk.RemovalPolicy {
	if st.Retain {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// pendingWindow is the days a deleted key waits before it is gone.
func pendingWindow(st *Stage) float64 {
	if st.Retain {
		return 30
	}
	return 7
}
