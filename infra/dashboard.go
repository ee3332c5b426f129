package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// dashboardInputs are what the stage's dashboard shows.
type dashboardInputs struct {
	api          awsapigatewayv2.HttpApi
	functions    map[string]*function
	names        []string // function names, sorted
	table        awsdynamodb.Table
	reminderDLQ  awssqs.IQueue // nil without a reminders function
	streamDLQ    awssqs.IQueue // nil without a reports function
	reminderName string
	reportsName  string
}

// newDashboard returns the stage's one dashboard, named after the stage:
// the API, each function, the table, the reminder job, the stream consumer
// and the data-quality KPIs against their targets, in that order, the order
// an on-call reads them in when an alarm fires.
func newDashboard(scope constructs.Construct, st *Stage, in dashboardInputs) awscloudwatch.Dashboard {
	d := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String("Clientele-" + st.Name),
	})
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.GraphWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8),
		})
	}
	title := func(text string) awscloudwatch.TextWidget {
		return awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Markdown: jsii.String("## " + text), Width: jsii.Number(24), Height: jsii.Number(1)})
	}

	d.AddWidgets(title("API"),
		graph("Requests", in.api.MetricCount(over5Minutes("Sum"))),
		graph("4xx and 5xx", in.api.MetricClientError(over5Minutes("Sum")), in.api.MetricServerError(over5Minutes("Sum"))),
		graph("Latency p99 (ms)", in.api.MetricLatency(over5Minutes("p99")), in.api.MetricIntegrationLatency(over5Minutes("p99"))),
	)
	d.AddWidgets(title("Functions"))
	for _, name := range in.names {
		fn := in.functions[name].fn
		d.AddWidgets(
			graph(name+": invocations and errors", fn.MetricInvocations(over5Minutes("Sum")), fn.MetricErrors(over5Minutes("Sum"))),
			graph(name+": duration p99 (ms)", fn.MetricDuration(over5Minutes("p99"))),
			graph(name+": throttles and concurrency", fn.MetricThrottles(over5Minutes("Sum")), fn.Metric(jsii.String("ConcurrentExecutions"), over5Minutes("Maximum"))),
		)
	}
	d.AddWidgets(title("Table"),
		graph("Consumed capacity", in.table.MetricConsumedReadCapacityUnits(over5Minutes("Sum")), in.table.MetricConsumedWriteCapacityUnits(over5Minutes("Sum"))),
		graph("Throttled events", in.table.Metric(jsii.String("ReadThrottleEvents"), over5Minutes("Sum")), in.table.Metric(jsii.String("WriteThrottleEvents"), over5Minutes("Sum"))),
		graph("System errors", in.table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{Operations: &tableOperations})),
	)
	if in.reminderDLQ != nil {
		fn := in.functions[in.reminderName].fn
		d.AddWidgets(title("Reminder job"),
			graph("Runs and failures", fn.MetricInvocations(over5Minutes("Sum")), fn.MetricErrors(over5Minutes("Sum"))),
			graph("Run duration (ms)", fn.MetricDuration(over5Minutes("Maximum"))),
			graph("Dead-lettered runs", in.reminderDLQ.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum"))),
		)
	}
	if in.streamDLQ != nil {
		fn := in.functions[in.reportsName].fn
		d.AddWidgets(title("Stream consumer"),
			graph("Iterator age (ms)", fn.Metric(jsii.String("IteratorAge"), over5Minutes("Maximum"))),
			graph("Batches and failures", fn.MetricInvocations(over5Minutes("Sum")), fn.MetricErrors(over5Minutes("Sum"))),
			graph("Dead-lettered records", in.streamDLQ.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum"))),
		)
		t := st.Targets()
		kpiGraph := func(name string, target float64) awscloudwatch.GraphWidget {
			return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title:           jsii.String(name),
				Left:            &[]awscloudwatch.IMetric{kpi(st, name)},
				LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{Value: jsii.Number(target), Label: jsii.String("target")}},
				Width:           jsii.Number(6),
			})
		}
		d.AddWidgets(title("Data quality"),
			kpiGraph("CompletenessRate", t.Completeness),
			kpiGraph("TimelinessRate", t.Timeliness),
			kpiGraph("DuplicateRate", t.Duplicates),
			kpiGraph("InvalidRate", t.Invalid),
		)
	}
	return d
}
