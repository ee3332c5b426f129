package infra

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

// TestReminderSchedule proves that EventBridge runs the reminders function
// every 15 minutes, that a failed run is retried twice within the hour and
// then dead-lettered (whether EventBridge could not deliver it or the
// function failed), and that only this rule may invoke the function and
// write to the queue.
func TestReminderSchedule(t *testing.T) {
	s := stackTemplate(t)
	fnID, aliasID := s.functions[api.FnReminders], s.aliases[api.FnReminders]
	if fnID == "" {
		t.Fatal("no reminders function")
	}
	ruleID := s.logicalID(t, "ReminderSchedule")
	dlqID := s.logicalID(t, "ReminderScheduleDLQ")
	rule, ok := s.ofType("AWS::Events::Rule")[ruleID]
	if !ok {
		t.Fatalf("the reminder schedule %s is not a rule", ruleID)
	}

	t.Run("AtTheStagesRate", func(t *testing.T) {
		if got, want := rule["ScheduleExpression"], fmt.Sprintf("rate(%d minutes)", s.stage.ReminderRateMinutes); got != want {
			t.Errorf("ScheduleExpression = %v, want %v", got, want)
		}
		if got := rule["State"]; got != "ENABLED" {
			t.Errorf("State = %v, want ENABLED", got)
		}
		if got := rule["EventPattern"]; got != nil {
			t.Errorf("EventPattern = %v, want none (a schedule only)", got)
		}
	})

	t.Run("TargetsRemindersWithRetriesAndDLQ", func(t *testing.T) {
		targets := list(rule["Targets"])
		if len(targets) != 1 {
			t.Fatalf("%d targets, want 1: %v", len(targets), targets)
		}
		target, _ := targets[0].(map[string]any)
		if got, want := target["Arn"], ref(aliasID); !reflect.DeepEqual(got, want) {
			t.Errorf("target Arn = %v, want the reminders function's live alias %v", got, want)
		}
		wantRetry := map[string]any{"MaximumRetryAttempts": float64(2), "MaximumEventAgeInSeconds": float64(3600)}
		if got := target["RetryPolicy"]; !reflect.DeepEqual(got, wantRetry) {
			t.Errorf("RetryPolicy = %v, want %v", got, wantRetry)
		}
		wantDLQ := map[string]any{"Arn": getAtt(dlqID, "Arn")}
		if got := target["DeadLetterConfig"]; !reflect.DeepEqual(got, wantDLQ) {
			t.Errorf("DeadLetterConfig = %v, want %v", got, wantDLQ)
		}
		// The handler runs as of the event's time: the target must pass
		// the event itself, not a constant or transformed input.
		for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
			if target[k] != nil {
				t.Errorf("target %s = %v, want the event as it is", k, target[k])
			}
		}
	})

	t.Run("QueueEncryptedRetainedTwoWeeksTLSOnly", func(t *testing.T) {
		q, _ := s.resources[dlqID]["Properties"].(map[string]any)
		if q["SqsManagedSseEnabled"] != true {
			t.Errorf("SqsManagedSseEnabled = %v, want true", q["SqsManagedSseEnabled"])
		}
		if q["KmsMasterKeyId"] != nil {
			t.Errorf("KmsMasterKeyId = %v, want SQS-managed encryption", q["KmsMasterKeyId"])
		}
		if got := q["MessageRetentionPeriod"]; got != float64(14*24*3600) {
			t.Errorf("MessageRetentionPeriod = %v, want 14 days", got)
		}
		deny := queuePolicyStatements(t, s, dlqID, "Deny")
		if len(deny) != 1 {
			t.Fatalf("%d Deny statements, want 1 (TLS only): %v", len(deny), deny)
		}
		want := map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}
		if !reflect.DeepEqual(deny[0]["Condition"], want) || deny[0]["Action"] != "sqs:*" {
			t.Errorf("Deny statement %v, want sqs:* without TLS", deny[0])
		}
	})

	t.Run("OnlyTheRuleMaySendToQueue", func(t *testing.T) {
		allow := queuePolicyStatements(t, s, dlqID, "Allow")
		if len(allow) != 1 {
			t.Fatalf("%d Allow statements, want 1: %v", len(allow), allow)
		}
		st := allow[0]
		if want := map[string]any{"Service": "events.amazonaws.com"}; !reflect.DeepEqual(st["Principal"], want) {
			t.Errorf("Principal = %v, want %v", st["Principal"], want)
		}
		if got := stringList(st["Action"]); !slices.Equal(got, []string{"sqs:SendMessage"}) {
			t.Errorf("Action = %v, want sqs:SendMessage only", got)
		}
		if got, want := st["Resource"], getAtt(dlqID, "Arn"); !reflect.DeepEqual(got, want) {
			t.Errorf("Resource = %v, want %v", got, want)
		}
		want := map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAtt(ruleID, "Arn")}}
		if !reflect.DeepEqual(st["Condition"], want) {
			t.Errorf("Condition = %v, want %v", st["Condition"], want)
		}
	})

	t.Run("OnlyTheRuleMayInvokeFromEventBridge", func(t *testing.T) {
		var fromEvents []map[string]any
		for _, p := range s.ofType("AWS::Lambda::Permission") {
			// The webhooks' retry schedule invokes its own function.
			if p["Principal"] == "events.amazonaws.com" && !mentions(p["FunctionName"], s.aliases[api.FnWebhooks]) {
				fromEvents = append(fromEvents, p)
			}
		}
		if len(fromEvents) != 1 {
			t.Fatalf("%d permissions for events.amazonaws.com, want 1: %v", len(fromEvents), fromEvents)
		}
		p := fromEvents[0]
		if p["Action"] != "lambda:InvokeFunction" {
			t.Errorf("Action = %v, want lambda:InvokeFunction", p["Action"])
		}
		if got, want := p["FunctionName"], ref(aliasID); !reflect.DeepEqual(got, want) {
			t.Errorf("FunctionName = %v, want %v", got, want)
		}
		if got, want := p["SourceArn"], getAtt(ruleID, "Arn"); !reflect.DeepEqual(got, want) {
			t.Errorf("SourceArn = %v, want %v", got, want)
		}
	})

	// EventBridge invokes Lambda asynchronously: once Lambda has accepted
	// the event, a failing run is retried by Lambda, not by the rule.
	t.Run("FailedRunsRetriedThenDeadLettered", func(t *testing.T) {
		id, cfg := s.only(t, "AWS::Lambda::EventInvokeConfig")
		want := map[string]any{
			"FunctionName":             ref(fnID),
			"MaximumRetryAttempts":     float64(2),
			"MaximumEventAgeInSeconds": float64(3600),
			"DestinationConfig": map[string]any{
				"OnFailure": map[string]any{"Destination": getAtt(dlqID, "Arn")},
			},
		}
		q := cfg["Qualifier"]
		delete(cfg, "Qualifier")
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("%s = %v, want %v", id, cfg, want)
		}
		// The alias is what EventBridge invokes; its name is the
		// qualifier, taken from the alias's ARN.
		if !mentions(q, aliasID) {
			t.Errorf("Qualifier = %v, want the live alias's", q)
		}
		role := functionRole(t, s, fnID)
		sends := false
		for _, st := range s.allowStatements() {
			if !slices.Contains(st.actions, "sqs:SendMessage") || !slices.ContainsFunc(st.resources, func(r any) bool { return mentions(r, dlqID) }) {
				continue
			}
			if !slices.ContainsFunc(st.roles, func(r any) bool { return reflect.DeepEqual(r, ref(role)) }) {
				t.Errorf("policy %s of roles %v may send to the reminder dead-letter queue, want only the reminders function's role %s", st.policy, st.roles, role)
				continue
			}
			sends = true
		}
		if !sends {
			t.Errorf("the reminders function's role %s may not send to its on-failure destination %s", role, dlqID)
		}
	})
}

// TestFunctionSizing proves that, where the stage does not size them, the
// reminder job, which works through everything due in one run, has five
// minutes and 512 MB, the API functions 10 seconds and 256 MB, and no
// function reserves concurrency.
func TestFunctionSizing(t *testing.T) {
	s := stageTemplate(t, "dev")
	if len(s.stage.Functions) != 0 {
		t.Fatal("the dev stage sizes functions; this test is of the defaults")
	}
	lambdas := s.ofType("AWS::Lambda::Function")
	for name, want := range map[string]struct{ timeout, memory float64 }{
		api.FnReminders:  {300, 512},
		api.FnReports:    {60, 512},
		api.FnCustomers:  {10, 256},
		api.FnComplaints: {10, 256},
	} {
		fn, ok := lambdas[s.functions[name]]
		if !ok {
			t.Errorf("no function %s", name)
			continue
		}
		if fn["Timeout"] != want.timeout || fn["MemorySize"] != want.memory {
			t.Errorf("function %s: Timeout %v, MemorySize %v, want %v s, %v MB", name, fn["Timeout"], fn["MemorySize"], want.timeout, want.memory)
		}
		if fn["ReservedConcurrentExecutions"] != nil {
			t.Errorf("function %s reserves %v, want unreserved", name, fn["ReservedConcurrentExecutions"])
		}
	}
}

// TestPublishers proves that exactly the complaints and reminders functions
// (and webhooks, which tells admins of an endpoint it disabled) get the
// notifications topic and may publish to it, and to nothing else.
func TestPublishers(t *testing.T) {
	s := stackTemplate(t)
	want := []string{api.FnComplaints, api.FnReminders, api.FnWebhooks}
	if got := slices.Sorted(slices.Values(publishers)); !slices.Equal(got, want) {
		t.Errorf("publishers = %v, want %v", got, want)
	}
	lambdas := s.ofType("AWS::Lambda::Function")
	statements := s.allowStatements()
	for name, id := range s.functions {
		publisher := slices.Contains(want, name)
		env, _ := lambdas[id]["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		topicArn, hasTopic := vars["TOPIC_ARN"]
		switch {
		case publisher && !reflect.DeepEqual(topicArn, ref(s.notifications)):
			t.Errorf("function %s: TOPIC_ARN = %v, want %v", name, topicArn, ref(s.notifications))
		case !publisher && hasTopic:
			t.Errorf("function %s: TOPIC_ARN = %v, want none", name, topicArn)
		}
		role := ref(functionRole(t, s, id))
		var sns []statement
		for _, st := range statements {
			if slices.ContainsFunc(st.roles, func(r any) bool { return reflect.DeepEqual(r, role) }) &&
				slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(strings.ToLower(a), "sns:") }) {
				sns = append(sns, st)
			}
		}
		if !publisher {
			for _, st := range sns {
				t.Errorf("function %s: policy %s allows %v on %v, want no SNS", name, st.policy, st.actions, st.resources)
			}
			continue
		}
		if len(sns) != 1 || !slices.Equal(sns[0].actions, []string{"sns:Publish"}) || !reflect.DeepEqual(sns[0].resources, []any{ref(s.notifications)}) {
			t.Errorf("function %s: SNS statements %v, want sns:Publish on %s only", name, sns, s.notifications)
		}
	}
}

// queuePolicyStatements returns the statements of effect effect in the one
// queue policy of queue.
func queuePolicyStatements(tb testing.TB, s *synthesized, queue, effect string) []map[string]any {
	tb.Helper()
	var policies []map[string]any
	for _, p := range s.ofType("AWS::SQS::QueuePolicy") {
		if slices.ContainsFunc(list(p["Queues"]), func(q any) bool { return mentions(q, queue) }) {
			policies = append(policies, p)
		}
	}
	if len(policies) != 1 {
		tb.Fatalf("%d policies of queue %s, want 1", len(policies), queue)
	}
	if got := list(policies[0]["Queues"]); len(got) != 1 {
		tb.Errorf("the policy of queue %s applies to %v, want that queue only", queue, got)
	}
	doc, _ := policies[0]["PolicyDocument"].(map[string]any)
	var out []map[string]any
	for _, st := range list(doc["Statement"]) {
		st, _ := st.(map[string]any)
		if st["Effect"] == effect {
			out = append(out, st)
		}
	}
	return out
}

// functionRole returns the logical id of the execution role of the Lambda
// function fn (a logical id).
func functionRole(tb testing.TB, s *synthesized, fn string) string {
	tb.Helper()
	props, _ := s.resources[fn]["Properties"].(map[string]any)
	role, _ := props["Role"].(map[string]any)
	att, _ := role["Fn::GetAtt"].([]any)
	if len(att) != 2 || att[1] != "Arn" {
		tb.Fatalf("function %s: Role = %v, want a role of the stack", fn, props["Role"])
	}
	id, _ := att[0].(string)
	return id
}
