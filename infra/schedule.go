package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// reminderRetries and reminderMaxEventAge bound how a failed run is retried:
// twice, within the hour. By then the next runs, each of which does all that
// is due as of its own time, have done what the failed one left.
const (
	reminderRetries     = 2
	reminderMaxEventAge = 1 // hours
)

// newReminderSchedule runs the reminder job (fn's alias) every
// st.ReminderRateMinutes and returns the dead-letter queue of the runs that
// failed for good. A critical complaint's SLA target is two hours by default
// and the warning is due when 75 % of it is used up, half an hour before the
// breach; the stage's rate (15 minutes in the checked-in stages) bounds how
// late the warning comes, which is why Validate caps it.
//
// Retrying a run is safe because the job is idempotent: it runs as of the
// event's time, so a retry runs as of the same instant, and its reminder ids
// are deterministic, so a retry records and sends nothing twice. A run can
// fail in two places, and both retry and then dead-letter to the same queue:
//
//   - EventBridge cannot hand the event to Lambda (throttling, a Lambda
//     outage): the rule target's retry policy and dead-letter queue, which
//     the target allows EventBridge, and only this rule, to send to.
//   - The function returns an error (the job fails when any item failed):
//     EventBridge invokes Lambda asynchronously and is done once Lambda
//     accepts the event, so this is Lambda's asynchronous invocation
//     configuration, whose on-failure destination the function's role may
//     send to.
func newReminderSchedule(scope constructs.Construct, st *Stage, fn awslambda.IFunction) awssqs.Queue {
	dlq := deadLetterQueue(scope, "ReminderScheduleDLQ")
	rule := awsevents.NewRule(scope, jsii.String("ReminderSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the Clientele " + st.Name + " reminder job"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(st.ReminderRateMinutes))),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts:   jsii.Number(reminderRetries),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(reminderMaxEventAge)),
		DeadLetterQueue: dlq,
	}))
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(reminderRetries),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(reminderMaxEventAge)),
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
	})
	return dlq
}
