package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// deadLetterQueue holds what a schedule or a stream could not deliver,
// for fourteen days, encrypted, reachable only over TLS.
func deadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	return awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
}

// newReminderSchedule runs the reminder job every 15 minutes — often enough
// to warn of a two-hour critical SLA in time. The job is idempotent (its
// ids are deterministic and it runs as of the event's time), so EventBridge
// may retry a failed invocation twice; what still fails lands in a
// dead-letter queue.
func newReminderSchedule(scope constructs.Construct, fn awslambda.IFunction) awssqs.Queue {
	dlq := deadLetterQueue(scope, "ReminderScheduleDLQ")
	rule := awsevents.NewRule(scope, jsii.String("ReminderSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the Clientele reminder job"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(15))),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts:   jsii.Number(2),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
		DeadLetterQueue: dlq,
	}))
	return dlq
}

// newReportsConsumer feeds the main table's stream to the reports function,
// as the aggregates need: batches of 100, partial batch responses so one bad
// record does not replay the rest, halving a failing batch to isolate it,
// ten retries, then the record's coordinates in a dead-letter queue. The
// consumer applies each record once however often it comes, so retries are
// safe.
func newReportsConsumer(scope constructs.Construct, fn awslambda.Function, table awsdynamodb.ITable) awssqs.Queue {
	dlq := deadLetterQueue(scope, "ReportsStreamDLQ")
	fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(100),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
		OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
	}))
	return dlq
}

// alarms publishes CloudWatch alarms to one topic, encrypted with the
// stack's key.
type alarms struct {
	scope constructs.Construct
	topic awssns.Topic
}

func newAlarms(scope constructs.Construct, key awskms.Key) *alarms {
	// CloudWatch must be able to use the key to publish to the topic.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), jsii.Bool(false))
	topic := awssns.NewTopic(scope, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Clientele alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	return &alarms{scope: scope, topic: topic}
}

// add raises an alarm to the topic when metric crosses threshold in one
// period; missing data is no breach.
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

// kpi is the metric the reports function publishes for one KPI.
func kpi(name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String("Clientele"),
		MetricName: jsii.String(name),
		Statistic:  jsii.String("Average"),
		Period:     awscdk.Duration_Hours(jsii.Number(1)),
	})
}

// addOperationalAlarms watches the reminder schedule, the stream consumer
// and the data-quality targets (the defaults; deployments with other
// targets change them here).
func (a *alarms) addOperationalAlarms(reminders, reports awslambda.Function, reminderDLQ, streamDLQ awssqs.Queue) {
	ge := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	gt := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
	lt := awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD
	five, fifteen := awscdk.Duration_Minutes(jsii.Number(5)), awscdk.Duration_Minutes(jsii.Number(15))
	a.add("ReminderRunFailedAlarm", reminders.MetricErrors(&awscloudwatch.MetricOptions{Period: fifteen}), 1, ge,
		"The reminder job failed; the next run retries what it left")
	a.add("ReminderDLQAlarm", reminderDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 1, ge,
		"A scheduled reminder run could not be delivered after retries")
	a.add("ReportsConsumerErrorsAlarm", reports.MetricErrors(&awscloudwatch.MetricOptions{Period: five}), 1, ge,
		"The reports function failed (stream consumer or report read)")
	a.add("ReportsStreamDLQAlarm", streamDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 1, ge,
		"Stream records were skipped after retries: run `clientele reports rebuild`")
	a.add("ReportsIteratorAgeAlarm", reports.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 300000, gt,
		"The stream consumer is more than five minutes behind")
	a.add("CompletenessTargetAlarm", kpi("CompletenessRate"), 0.95, lt, "Completeness is below its 95 % target")
	a.add("TimelinessTargetAlarm", kpi("TimelinessRate"), 0.98, lt, "Timeliness is below its 98 % target")
	a.add("DuplicatesTargetAlarm", kpi("DuplicateRate"), 0.03, gt, "Duplicates are above their 3 % target")
	a.add("InvalidTargetAlarm", kpi("InvalidRate"), 0.02, gt, "Invalid entries are above their 2 % target")
}
