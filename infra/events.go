package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// deadLetterQueue holds what a schedule or a stream could not deliver,
// for fourteen days, encrypted, reachable only over TLS.
func deadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	q := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(q, "AwsSolutions-SQS3",
		"This queue is itself a dead-letter queue (of an EventBridge target, a Lambda on-failure destination or a stream's event source), which SQS's redrive policy cannot express; nothing consumes it but an operator, and an alarm fires on its first message")
	return q
}

// newReportsConsumer feeds the main table's stream to the reports function,
// as the aggregates need: batches of 100, partial batch responses so one bad
// record does not replay the rest, halving a failing batch to isolate it,
// ten retries, then the record's coordinates in a dead-letter queue. The
// consumer applies each record once however often it comes, so retries are
// safe.
func newReportsConsumer(scope constructs.Construct, fn awslambda.IFunction, table awsdynamodb.ITable) awssqs.Queue {
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
