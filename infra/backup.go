package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newBackups returns the AWS Backup plan that copies tables into a vault
// encrypted with the stack's key: daily at 03:00 UTC, kept 35 days, and on
// the first of each month, kept a year. Point-in-time recovery covers the
// last 35 days of each table; the backups outlive a table's deletion and
// reach back a year. The vault is retained with the stack's deletion.
//
// Both names carry the stage: the CDK otherwise names the plan literally
// "BackupPlan" and the vault after its construct path alone, and a second
// stage would collide with them. The vault's name also carries a piece of
// the stack's id, which is new each time the stack is created, because the
// vault outlives a deleted stack and a redeploy would otherwise collide
// with it.
func newBackups(scope constructs.Construct, st *Stage, key awskms.IKey, tables ...awsdynamodb.ITable) awsbackup.BackupPlan {
	vault := awsbackup.NewBackupVault(scope, jsii.String("BackupVault"), &awsbackup.BackupVaultProps{
		BackupVaultName: jsii.String("clientele-" + st.Name + "-" + *stackIDSuffix()),
		EncryptionKey:   key,
		RemovalPolicy:   awscdk.RemovalPolicy_RETAIN,
	})
	plan := awsbackup.NewBackupPlan(scope, jsii.String("BackupPlan"), &awsbackup.BackupPlanProps{
		BackupPlanName: jsii.String("clientele-" + st.Name),
		BackupVault:    vault,
		BackupPlanRules: &[]awsbackup.BackupPlanRule{
			awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
				RuleName: jsii.String("Daily"),
				ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{
					Minute: jsii.String("0"),
					Hour:   jsii.String("3"),
				}),
				DeleteAfter: awscdk.Duration_Days(jsii.Number(35)),
			}),
			awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
				RuleName: jsii.String("Monthly"),
				ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{
					Minute: jsii.String("0"),
					Hour:   jsii.String("3"),
					Day:    jsii.String("1"),
				}),
				DeleteAfter: awscdk.Duration_Days(jsii.Number(365)),
			}),
		},
	})
	resources := make([]awsbackup.BackupResource, 0, len(tables))
	for _, t := range tables {
		resources = append(resources, awsbackup.BackupResource_FromDynamoDbTable(t))
	}
	selection := plan.AddSelection(jsii.String("Tables"), &awsbackup.BackupSelectionOptions{
		Resources: &resources,
	})
	suppress(selection, "AwsSolutions-IAM4",
		"AWS Backup's own service-role policy, which it maintains as the service's needs change; the role can be assumed by AWS Backup only, and the selection names the two tables",
		"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup")
	return plan
}

// stackIDSuffix is the first eight hex digits of the stack id's UUID,
// different for every creation of the stack.
func stackIDSuffix() *string {
	uuid := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))
	return awscdk.Fn_Select(jsii.Number(0), awscdk.Fn_Split(jsii.String("-"), uuid, nil))
}
