package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// alarms publishes CloudWatch alarms to one topic, encrypted with the
// stack's key. Each alarm is one call of add.
type alarms struct {
	scope constructs.Construct
	topic awssns.Topic
}

// newAlarms returns the alarms of the stack with their topic, "Alarms".
//
// CloudWatch publishes an alarm as the service cloudwatch.amazonaws.com, on
// behalf of the alarm, so both the topic and its key must let it:
//
//   - The topic's policy, which the CDK writes to deny publishing without
//     TLS, replaces the default policy that let the account's own services
//     publish; without an Allow for CloudWatch every alarm action fails with
//     "not authorized to perform: SNS:Publish".
//   - Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* and
//     kms:Decrypt on its key, which the key's policy must allow.
//
// Both statements only hold for alarms of this account (aws:SourceAccount),
// so CloudWatch cannot be made to use them for another account's alarms;
// the topic's statement also names this region's alarms (aws:SourceArn).
func newAlarms(scope constructs.Construct, key awskms.Key) *alarms {
	cloudwatch := func() *[]awsiam.IPrincipal {
		return &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)}
	}
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: cloudwatch(),
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), jsii.Bool(false))
	topic := awssns.NewTopic(scope, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Clientele alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	alarmArns := awscdk.Fn_Join(jsii.String(""), jsii.Strings(
		"arn:", *awscdk.Aws_PARTITION(), ":cloudwatch:", *awscdk.Aws_REGION(), ":", *awscdk.Aws_ACCOUNT_ID(), ":alarm:*",
	))
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: cloudwatch(),
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike":      map[string]any{"aws:SourceArn": alarmArns},
		},
	}))
	return &alarms{scope: scope, topic: topic}
}

// add raises an alarm, id, to the topic when metric compares to threshold
// as op says in one period; missing data is no breach. It is all a new alarm
// needs: the metric carries its own period and statistic.
func (a *alarms) add(id string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator, description string) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(a.scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: op,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String(description),
	})
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(a.topic))
	return alarm
}

// Comparison operators of add, by how they read.
const (
	atLeast = awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	above   = awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
	below   = awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD
)

// maxOver5Minutes is the largest value of a metric in five minutes.
func maxOver5Minutes() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}
}

// watchReminders alarms when a reminder run failed and when a scheduled run
// was dead-lettered after its retries (see newReminderSchedule).
//
// The errors alarm looks at 15 minutes, one schedule period, so that each
// failed run raises it; the run returns an error when any of its items
// failed, and the next run retries what it left. The queue alarm looks at
// five minutes: a message there means a run was given up on.
func (a *alarms) watchReminders(fn awslambda.IFunction, dlq awssqs.IQueue) {
	a.add("ReminderRunFailedAlarm", fn.MetricErrors(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(reminderRate))}), 1, atLeast,
		"The reminder job failed; the next run retries what it left")
	a.add("ReminderDLQAlarm", dlq.MetricApproximateNumberOfMessagesVisible(maxOver5Minutes()), 1, atLeast,
		"A scheduled reminder run failed after its retries (see the ReminderScheduleDLQ queue)")
}

// watchReports alarms on the stream consumer (errors, dead-lettered
// records, lag) and on each data-quality KPI the reports function publishes
// missing its target (the defaults; deployments with other targets change
// them here).
func (a *alarms) watchReports(fn awslambda.IFunction, streamDLQ awssqs.IQueue) {
	a.add("ReportsConsumerErrorsAlarm", fn.MetricErrors(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}), 1, atLeast,
		"The reports function failed (stream consumer or report read)")
	a.add("ReportsStreamDLQAlarm", streamDLQ.MetricApproximateNumberOfMessagesVisible(maxOver5Minutes()), 1, atLeast,
		"Stream records were skipped after retries: run `clientele reports rebuild`")
	a.add("ReportsIteratorAgeAlarm", fn.Metric(jsii.String("IteratorAge"), maxOver5Minutes()), 300000, above,
		"The stream consumer is more than five minutes behind")
	a.add("CompletenessTargetAlarm", kpi("CompletenessRate"), 0.95, below, "Completeness is below its 95 % target")
	a.add("TimelinessTargetAlarm", kpi("TimelinessRate"), 0.98, below, "Timeliness is below its 98 % target")
	a.add("DuplicatesTargetAlarm", kpi("DuplicateRate"), 0.03, above, "Duplicates are above their 3 % target")
	a.add("InvalidTargetAlarm", kpi("InvalidRate"), 0.02, above, "Invalid entries are above their 2 % target")
}

// kpi is the metric the reports function publishes for one KPI.
func kpi(name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String("Clientele"),
		MetricName: jsii.String(name),
		Statistic:  jsii.String("Average"),
		Period:     awscdk.Duration_Hours(jsii.Number(1)),
	})
}
