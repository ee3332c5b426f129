package infra

import (
	"reflect"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

func TestReminderSchedule(t *testing.T) {
	s := stackTemplate(t)
	ruleID, rule := s.only(t, "AWS::Events::Rule")
	if rule["ScheduleExpression"] != "rate(15 minutes)" {
		t.Errorf("schedule %v", rule["ScheduleExpression"])
	}
	targets := list(rule["Targets"])
	if len(targets) != 1 {
		t.Fatalf("%d targets", len(targets))
	}
	target := targets[0].(map[string]any)
	if !reflect.DeepEqual(target["Arn"], getAtt(s.functions[api.FnReminders], "Arn")) {
		t.Errorf("target %v, want the reminders function", target["Arn"])
	}
	if want := map[string]any{"MaximumRetryAttempts": float64(2), "MaximumEventAgeInSeconds": float64(3600)}; !reflect.DeepEqual(target["RetryPolicy"], want) {
		t.Errorf("retry policy %v", target["RetryPolicy"])
	}
	dlq, _ := target["DeadLetterConfig"].(map[string]any)
	dlqID := ""
	for id, q := range s.ofType("AWS::SQS::Queue") {
		if reflect.DeepEqual(dlq["Arn"], getAtt(id, "Arn")) {
			dlqID = id
			if q["SqsManagedSseEnabled"] != true {
				t.Errorf("dead-letter queue %s not encrypted: %v", id, q)
			}
		}
	}
	if dlqID == "" {
		t.Fatalf("dead-letter config %v names no queue", dlq)
	}
	allowed := false
	for _, p := range s.ofType("AWS::Lambda::Permission") {
		if reflect.DeepEqual(p["SourceArn"], getAtt(ruleID, "Arn")) && p["Principal"] == "events.amazonaws.com" {
			allowed = reflect.DeepEqual(p["FunctionName"], getAtt(s.functions[api.FnReminders], "Arn"))
		}
	}
	if !allowed {
		t.Error("EventBridge may not invoke the reminders function from the rule")
	}
	fn, _ := s.resources[s.functions[api.FnReminders]]["Properties"].(map[string]any)
	if fn["Timeout"] != float64(300) || fn["MemorySize"] != float64(512) {
		t.Errorf("reminders function timeout %v memory %v", fn["Timeout"], fn["MemorySize"])
	}
}

func TestReportsStreamConsumer(t *testing.T) {
	s := stackTemplate(t)
	_, esm := s.only(t, "AWS::Lambda::EventSourceMapping")
	want := map[string]any{
		"EventSourceArn":             getAtt(s.mainTable, "StreamArn"),
		"FunctionName":               ref(s.functions[api.FnReports]),
		"BatchSize":                  float64(100),
		"BisectBatchOnFunctionError": true,
		"MaximumRetryAttempts":       float64(10),
		"StartingPosition":           "TRIM_HORIZON",
		"FunctionResponseTypes":      []any{"ReportBatchItemFailures"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(esm[k], v) {
			t.Errorf("%s = %v, want %v", k, esm[k], v)
		}
	}
	dest, _ := esm["DestinationConfig"].(map[string]any)
	onFailure, _ := dest["OnFailure"].(map[string]any)
	if onFailure["Destination"] == nil {
		t.Error("no on-failure destination for skipped records")
	}
}

func TestAlarms(t *testing.T) {
	s := stackTemplate(t)
	alarms := s.ofType("AWS::CloudWatch::Alarm")
	byMetric := map[string]map[string]any{}
	for _, a := range alarms {
		byMetric[a["MetricName"].(string)+"/"+a["ComparisonOperator"].(string)] = a
		if len(list(a["AlarmActions"])) != 1 {
			t.Errorf("alarm %v has actions %v", a["MetricName"], a["AlarmActions"])
		}
	}
	for _, c := range []struct {
		key       string
		threshold float64
	}{
		{"CompletenessRate/LessThanThreshold", 0.95},
		{"TimelinessRate/LessThanThreshold", 0.98},
		{"DuplicateRate/GreaterThanThreshold", 0.03},
		{"InvalidRate/GreaterThanThreshold", 0.02},
		{"IteratorAge/GreaterThanThreshold", 300000},
		{"ApproximateNumberOfMessagesVisible/GreaterThanOrEqualToThreshold", 1},
		{"Errors/GreaterThanOrEqualToThreshold", 1},
	} {
		a, ok := byMetric[c.key]
		if !ok {
			t.Errorf("no alarm on %s", c.key)
			continue
		}
		if a["Threshold"] != c.threshold {
			t.Errorf("%s threshold %v, want %v", c.key, a["Threshold"], c.threshold)
		}
	}
	if len(alarms) != 9 {
		t.Errorf("%d alarms, want 9", len(alarms))
	}
}
