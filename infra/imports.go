package infra

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// importMaxReceive is how often a background import task is delivered
// before it goes to the dead-letter queue; the imports function fails the
// import on the last delivery, so the dead-letter queue only ever holds a
// task whose invocation crashed or timed out every time.
const importMaxReceive = 5

// newImportQueue makes the queue of background import tasks (one message
// per chunk, ids only) and its dead-letter queue, both encrypted and
// reachable only over TLS, and feeds it to the imports function one task
// at a time, through its live alias, with partial batch responses. The
// customers function sends the first chunk's task; the imports function
// sends each next one. It returns the dead-letter queue.
func newImportQueue(scope constructs.Construct, imports, customers *function) awssqs.Queue {
	dlq := awssqs.NewQueue(scope, jsii.String("ImportsDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(dlq, "AwsSolutions-SQS3",
		"This queue is the dead-letter queue of the import queue; nothing consumes it but an operator, and an alarm fires on its first message")
	timeout := imports.fn.Timeout().ToSeconds(nil)
	queue := awssqs.NewQueue(scope, jsii.String("ImportsQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// AWS's guidance for a Lambda event source: six times the
		// function's timeout, so a slow invocation's message is not
		// delivered again while it still runs.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * *timeout)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{MaxReceiveCount: jsii.Number(importMaxReceive), Queue: dlq},
	})
	imports.alias.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	for _, f := range []*function{imports, customers} {
		if f == nil {
			continue
		}
		queue.GrantSendMessages(f.fn)
		f.fn.AddEnvironment(jsii.String("IMPORT_QUEUE_URL"), queue.QueueUrl(), nil)
		f.fn.AddEnvironment(jsii.String("IMPORT_MAX_RECEIVE"), jsii.String(fmt.Sprint(importMaxReceive)), nil)
	}
	return dlq
}

// watchImports alarms on the first import task in the dead-letter queue.
func (a *alarms) watchImports(dlq awssqs.IQueue) {
	a.add("ImportsDLQAlarm", dlq.MetricApproximateNumberOfMessagesVisible(over5Minutes("Maximum")), 1, atLeast,
		"a background import task failed every delivery: its import is left running; see the imports function's logs")
}
