package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// eventsArchiveDays is how long the bus's archive keeps every event, for
// replays to a new rule or a receiver that lost its copy.
const eventsArchiveDays = 365

// webhookQueueReceives is how often a queued event is attempted before it
// goes to the dead-letter queue: the fan-out it triggers is idempotent.
const webhookQueueReceives = 5

// domainEvents is the stack's half of the domain events: the bus every
// event is put on, with its archive, and the queue that carries them to
// the webhooks function.
type domainEvents struct {
	bus   awsevents.EventBus
	queue awssqs.Queue
	dlq   awssqs.Queue
}

// newDomainEvents makes the bus and its archive, and, when the webhooks
// function exists, the queue it reads (with its dead-letter queue) and the
// schedule that runs its retries every minute. The stream consumer
// (reports) may put on the bus and send to the queue, nothing more.
func newDomainEvents(scope constructs.Construct, st *Stage, reports, webhooks *function, a *alarms) *domainEvents {
	d := &domainEvents{}
	d.bus = awsevents.NewEventBus(scope, jsii.String("EventBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(StackName(st.Name) + "-events"),
		Description:  jsii.String("Clientele " + st.Name + " domain events (source clientele): ids and changed field names only"),
	})
	d.bus.Archive(jsii.String("EventArchive"), &awsevents.BaseArchiveProps{
		Description:  jsii.String("Every Clientele " + st.Name + " domain event"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("clientele")},
		Retention:    awscdk.Duration_Days(jsii.Number(eventsArchiveDays)),
	})
	if reports != nil {
		d.bus.GrantPutEventsTo(reports.fn, nil)
		reports.fn.AddEnvironment(jsii.String("EVENT_BUS_NAME"), d.bus.EventBusName(), nil)
	}
	if webhooks == nil {
		return d
	}
	d.dlq = deadLetterQueue(scope, "WebhookEventsDLQ")
	d.queue = awssqs.NewQueue(scope, jsii.String("WebhookEvents"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// Six times the function's timeout, as Lambda advises for a queue
		// it reads.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * st.Function("webhooks").TimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: d.dlq, MaxReceiveCount: jsii.Number(webhookQueueReceives)},
	})
	webhooks.alias.AddEventSource(awslambdaeventsources.NewSqsEventSource(d.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	if reports != nil {
		d.queue.GrantSendMessages(reports.fn)
		reports.fn.AddEnvironment(jsii.String("WEBHOOK_QUEUE_URL"), d.queue.QueueUrl(), nil)
	}
	retries := deadLetterQueue(scope, "WebhookRetryScheduleDLQ")
	rule := awsevents.NewRule(scope, jsii.String("WebhookRetrySchedule"), &awsevents.RuleProps{
		Description: jsii.String("Attempts the Clientele " + st.Name + " webhook deliveries that fell due"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(webhooks.alias, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(0), DeadLetterQueue: retries,
	}))
	a.add("WebhookEventsDLQAlarm", d.dlq.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum")), 1, atLeast,
		"domain events were not fanned out to the webhooks after retries: redrive the dead-letter queue")
	a.add("WebhookEventsAgeAlarm", d.queue.MetricApproximateAgeOfOldestMessage(over5Minutes("Maximum")), 900, above,
		"webhook events wait more than fifteen minutes to be fanned out")
	a.add("WebhookRetryDLQAlarm", retries.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum")), 1, atLeast,
		"the webhook retry schedule could not invoke the webhooks function")
	return d
}
