package infra

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MetricNamespace is where the functions publish the data-quality KPIs;
// each metric carries the dimension Stage, so two stages in one account
// have distinct metrics and alarms.
const MetricNamespace = "Clientele"

// alarms publishes CloudWatch alarms to one topic, encrypted with the
// operations key. Each alarm is one call of add.
type alarms struct {
	scope constructs.Construct
	st    *Stage
	topic awssns.Topic
	// byFunction are each function's own alarms, the rollback triggers of
	// its canary deployments.
	byFunction map[string][]awscloudwatch.IAlarm
}

// newAlarms returns the alarms of the stack with their topic, "Alarms",
// subscribing the stage's alarm email to it.
//
// CloudWatch publishes an alarm as the service cloudwatch.amazonaws.com, on
// behalf of the alarm, so both the topic and its key must let it:
//
//   - The topic's policy, which the CDK writes to deny publishing without
//     TLS, replaces the default policy that let the account's own services
//     publish; without an Allow for CloudWatch every alarm action fails with
//     "not authorized to perform: SNS:Publish".
//   - Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* and
//     kms:Decrypt on its key: the operations key allows CloudWatch that
//     (newOperationsKey), and only that key, never the one of personal
//     data.
//
// The topic's statement only holds for this account's alarms in this region
// (aws:SourceAccount, aws:SourceArn), so CloudWatch cannot be made to use it
// for another account's alarms.
func newAlarms(scope constructs.Construct, st *Stage, opsKey awskms.IKey) *alarms {
	topic := awssns.NewTopic(scope, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Clientele " + st.Name + " alarms"),
		MasterKey:   opsKey,
		EnforceSSL:  jsii.Bool(true),
	})
	alarmArns := awscdk.Fn_Join(jsii.String(""), jsii.Strings(
		"arn:", *awscdk.Aws_PARTITION(), ":cloudwatch:", *awscdk.Aws_REGION(), ":", *awscdk.Aws_ACCOUNT_ID(), ":alarm:*",
	))
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike":      map[string]any{"aws:SourceArn": alarmArns},
		},
	}))
	if st.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(st.AlarmEmail), nil))
	}
	return &alarms{scope: scope, st: st, topic: topic, byFunction: map[string][]awscloudwatch.IAlarm{}}
}

// add raises an alarm, id, to the topic when metric compares to threshold
// as op says in one period, and tells the topic again when it is over;
// missing data is no breach. The metric carries its own period and
// statistic.
func (a *alarms) add(id string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator, description string) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(a.scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: op,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String("Clientele " + a.st.Name + ": " + description),
	})
	action := awscloudwatchactions.NewSnsAction(a.topic)
	alarm.AddAlarmAction(action)
	alarm.AddOkAction(action)
	return alarm
}

// Comparison operators of add, by how they read.
const (
	atLeast = awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	above   = awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
	below   = awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD
)

// over5Minutes is a statistic of a metric over five minutes.
func over5Minutes(stat string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String(stat)}
}

// watchFunction alarms on any error and any throttle of a function in five
// minutes, and on its p99 duration reaching 80 % of its timeout, before
// requests start timing out. API functions return problems for what a
// client sent; an Errors datapoint is a crash or a timeout.
func (a *alarms) watchFunction(name string, f *function) {
	id := exportedName(name)
	timeout := float64(a.st.Function(name).TimeoutSeconds) * 1000
	a.byFunction[name] = append(a.byFunction[name],
		a.add(id+"ErrorsAlarm", f.fn.MetricErrors(over5Minutes("Sum")), 1, atLeast,
			"the "+name+" function failed"),
		a.add(id+"ThrottlesAlarm", f.fn.MetricThrottles(over5Minutes("Sum")), 1, atLeast,
			"the "+name+" function was throttled (reserved concurrency or the account's quota)"),
		a.add(id+"DurationAlarm", f.fn.MetricDuration(over5Minutes("p99")), 0.8*timeout, atLeast,
			fmt.Sprintf("the %s function's p99 duration is at 80 %% of its %d s timeout", name, a.st.Function(name).TimeoutSeconds)),
	)
}

// watchReminders alarms when a reminder run failed and when a scheduled run
// was dead-lettered after its retries (see newReminderSchedule).
//
// The errors alarm looks at one schedule period, so that each failed run
// raises it; the run returns an error when any of its items failed, and the
// next run retries what it left. The queue alarm looks at five minutes: a
// message there means a run was given up on.
func (a *alarms) watchReminders(f *function, dlq awssqs.IQueue) {
	period := awscdk.Duration_Minutes(jsii.Number(a.st.ReminderRateMinutes))
	a.byFunction["reminders"] = append(a.byFunction["reminders"],
		a.add("ReminderRunFailedAlarm", f.fn.MetricErrors(&awscloudwatch.MetricOptions{Period: period}), 1, atLeast,
			"the reminder job failed; the next run retries what it left"))
	a.add("ReminderDLQAlarm", dlq.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum")), 1, atLeast,
		"a scheduled reminder run failed after its retries (see the ReminderScheduleDLQ queue)")
}

// watchReports alarms on the stream consumer (dead-lettered records, lag)
// and on each data-quality KPI the reports function publishes missing the
// stage's target (QUALITY_TARGETS).
func (a *alarms) watchReports(f *function, streamDLQ awssqs.IQueue) {
	a.add("ReportsStreamDLQAlarm", streamDLQ.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum")), 1, atLeast,
		"stream records were skipped after retries: run `clientele reports rebuild`")
	a.byFunction["reports"] = append(a.byFunction["reports"],
		a.add("ReportsIteratorAgeAlarm", f.fn.Metric(jsii.String("IteratorAge"), over5Minutes("Maximum")), 300000, above,
			"the stream consumer is more than five minutes behind"))
	t := a.st.Targets()
	pct := func(v float64) string { return fmt.Sprintf("%g %%", v*100) }
	a.add("CompletenessTargetAlarm", kpi(a.st, "CompletenessRate"), t.Completeness, below, "completeness is below its "+pct(t.Completeness)+" target")
	a.add("TimelinessTargetAlarm", kpi(a.st, "TimelinessRate"), t.Timeliness, below, "timeliness is below its "+pct(t.Timeliness)+" target")
	a.add("DuplicatesTargetAlarm", kpi(a.st, "DuplicateRate"), t.Duplicates, above, "duplicates are above their "+pct(t.Duplicates)+" target")
	a.add("InvalidTargetAlarm", kpi(a.st, "InvalidRate"), t.Invalid, above, "invalid entries are above their "+pct(t.Invalid)+" target")
	// Outcome KPIs.
	a.add("SelfServiceTargetAlarm", kpi(a.st, "SelfServiceRate"), t.SelfService, below, "the self-service update rate is below its "+pct(t.SelfService)+" target")
	a.add("UpdateCycleTargetAlarm", kpi(a.st, "UpdateCycleMedianHours"), t.UpdateCycleHours, above, fmt.Sprintf("the median update cycle is above its %g h target", t.UpdateCycleHours))
	a.add("SuspectTargetAlarm", kpi(a.st, "SuspectRate"), t.Suspect, above, "suspect values are above their "+pct(t.Suspect)+" target")
	a.add("ChurnTargetAlarm", kpi(a.st, "ChurnRate"), t.Churn, above, "last month's churn is above its "+pct(t.Churn)+" target")
	// Satisfaction surveys (infra/surveys.go).
	a.add("SatisfactionTargetAlarm", kpi(a.st, "SatisfactionRate"), a.st.SatisfactionTarget(), below,
		"customer satisfaction is below its "+pct(a.st.SatisfactionTarget())+" target")
}

// watchAccess alarms when the access report flags a user: refused requests
// and probes in a day at ACCESS_ALERT_THRESHOLD or more (the reports
// function publishes the count of flagged users with the KPIs).
func (a *alarms) watchAccess() {
	flagged := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(MetricNamespace), MetricName: jsii.String("FlaggedUsers"),
		DimensionsMap: &map[string]*string{"Stage": jsii.String(a.st.Name)},
		Statistic:     jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(5)),
	})
	a.add("FlaggedUsersAlarm", flagged, 1, atLeast, "the access report flags a user: see GET /reports/access")
}

// watchIntegrity alarms on any stored item whose sealed fields failed their
// integrity check, which a function logs with code "integrity" (by id
// only), whether it answered 500 or showed the item marked in a list.
func (a *alarms) watchIntegrity(name string, f *function) {
	id := exportedName(name)
	filter := awslogs.NewMetricFilter(a.scope, jsii.String(id+"IntegrityFilter"), &awslogs.MetricFilterProps{
		LogGroup:        f.fn.LogGroup(),
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.code"), jsii.String("="), jsii.String("integrity")),
		MetricNamespace: jsii.String(MetricNamespace),
		MetricName:      jsii.String("IntegrityFailures-" + name),
		MetricValue:     jsii.String("1"),
		// Every log line of a deployed function carries its stage.
		Dimensions: &map[string]*string{"Stage": jsii.String("$.stage")},
	})
	m := over5Minutes("Sum")
	m.DimensionsMap = &map[string]*string{"Stage": jsii.String(a.st.Name)}
	a.add(id+"IntegrityAlarm", filter.Metric(m), 1, atLeast,
		"the "+name+" function met stored data that failed its integrity check: see the log for the item id")
}

// watchAPI alarms on the HTTP API's 5xx rate above 1 % of requests in five
// minutes and on its p99 latency reaching 5 s, half the API functions'
// timeout. A rate rather than a count, so that the alarm means the same in a
// quiet stage and a busy one; five minutes without requests is no data,
// not a breach.
func (a *alarms) watchAPI(httpAPI awsapigatewayv2.HttpApi) {
	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("100 * errors / MAX([errors, requests])"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   httpAPI.MetricServerError(over5Minutes("Sum")),
			"requests": httpAPI.MetricCount(over5Minutes("Sum")),
		},
		Label:  jsii.String("5xx %"),
		Period: awscdk.Duration_Minutes(jsii.Number(5)),
	})
	a.add("Api5xxRateAlarm", rate, 1, above, "more than 1 % of API requests failed with a 5xx")
	a.add("ApiLatencyAlarm", httpAPI.MetricLatency(over5Minutes("p99")), 5000, atLeast, "the API's p99 latency is 5 s or more")
}

// watchTable alarms on any throttled read or write of table and on any
// DynamoDB system error on the operations the functions use.
func (a *alarms) watchTable(id string, table awsdynamodb.Table) {
	a.add(id+"ReadThrottlesAlarm", table.Metric(jsii.String("ReadThrottleEvents"), over5Minutes("Sum")), 1, atLeast,
		"DynamoDB throttled reads of the "+id+" table")
	a.add(id+"WriteThrottlesAlarm", table.Metric(jsii.String("WriteThrottleEvents"), over5Minutes("Sum")), 1, atLeast,
		"DynamoDB throttled writes of the "+id+" table")
	a.add(id+"SystemErrorsAlarm", table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{
		Period:     awscdk.Duration_Minutes(jsii.Number(5)),
		Operations: &tableOperations,
	}), 1, atLeast, "DynamoDB returned system errors on the "+id+" table")
}

// tableOperations are the operations whose system errors are watched.
var tableOperations = []awsdynamodb.Operation{
	awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_PUT_ITEM, awsdynamodb.Operation_UPDATE_ITEM,
	awsdynamodb.Operation_DELETE_ITEM, awsdynamodb.Operation_QUERY, awsdynamodb.Operation_TRANSACT_WRITE_ITEMS,
	awsdynamodb.Operation_BATCH_WRITE_ITEM,
}

// kpi is the metric the reports function publishes for one KPI of stage st.
func kpi(st *Stage, name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(MetricNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"Stage": jsii.String(st.Name)},
		Statistic:     jsii.String("Average"),
		Period:        awscdk.Duration_Hours(jsii.Number(1)),
	})
}
