package infra

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

// TestAlarms proves that each alarm watches the metric it is meant to, with
// its threshold, and notifies the alarm topic, and that CloudWatch may
// publish to that encrypted topic.
func TestAlarms(t *testing.T) {
	s := stackTemplate(t)
	keyID, _ := s.only(t, "AWS::KMS::Key")
	topicID := s.logicalID(t, "Alarms")
	alarms := s.ofType("AWS::CloudWatch::Alarm")
	reminders, reports := s.functions[api.FnReminders], s.functions[api.FnReports]
	reminderDLQ := s.logicalID(t, "ReminderScheduleDLQ")
	streamDLQ := s.logicalID(t, "ReportsStreamDLQ")

	lambda := func(metric, fn, stat string, period float64) map[string]any {
		return map[string]any{
			"Namespace": "AWS/Lambda", "MetricName": metric, "Statistic": stat, "Period": period,
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}},
		}
	}
	queue := func(q string) map[string]any {
		return map[string]any{
			"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Maximum", "Period": float64(300),
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": getAtt(q, "QueueName")}},
		}
	}
	kpi := func(metric string) map[string]any {
		return map[string]any{"Namespace": "Clientele", "MetricName": metric, "Statistic": "Average", "Period": float64(3600)}
	}
	const (
		ge = "GreaterThanOrEqualToThreshold"
		gt = "GreaterThanThreshold"
		lt = "LessThanThreshold"
	)
	want := map[string]struct {
		metric    map[string]any
		cmp       string
		threshold float64
	}{
		"ReminderDLQAlarm":           {queue(reminderDLQ), ge, 1},
		"ReminderRunFailedAlarm":     {lambda("Errors", reminders, "Sum", 900), ge, 1},
		"ReportsConsumerErrorsAlarm": {lambda("Errors", reports, "Sum", 300), ge, 1},
		"ReportsStreamDLQAlarm":      {queue(streamDLQ), ge, 1},
		"ReportsIteratorAgeAlarm":    {lambda("IteratorAge", reports, "Maximum", 300), gt, 300000},
		"CompletenessTargetAlarm":    {kpi("CompletenessRate"), lt, 0.95},
		"TimelinessTargetAlarm":      {kpi("TimelinessRate"), lt, 0.98},
		"DuplicatesTargetAlarm":      {kpi("DuplicateRate"), gt, 0.03},
		"InvalidTargetAlarm":         {kpi("InvalidRate"), gt, 0.02},
	}

	t.Run("AllKnown", func(t *testing.T) {
		if len(alarms) != len(want) {
			t.Errorf("%d alarms, want %d", len(alarms), len(want))
		}
	})

	t.Run("EveryAlarmNotifiesTheAlarmTopic", func(t *testing.T) {
		for id, a := range alarms {
			if got := a["AlarmActions"]; !reflect.DeepEqual(got, []any{ref(topicID)}) {
				t.Errorf("alarm %s: AlarmActions = %v, want [%v]", id, got, ref(topicID))
			}
			if a["AlarmDescription"] == nil {
				t.Errorf("alarm %s has no description for the on-call", id)
			}
		}
	})

	for construct, w := range want {
		t.Run(construct, func(t *testing.T) {
			id := s.logicalID(t, construct)
			a, ok := alarms[id]
			if !ok {
				t.Fatalf("%s (%s) is not an alarm", construct, id)
			}
			for k, v := range w.metric {
				if !reflect.DeepEqual(a[k], v) {
					t.Errorf("%s = %v, want %v", k, a[k], v)
				}
			}
			if _, ok := w.metric["Dimensions"]; !ok && a["Dimensions"] != nil {
				t.Errorf("Dimensions = %v, want none (the KPIs are published without)", a["Dimensions"])
			}
			if a["ComparisonOperator"] != w.cmp || a["Threshold"] != w.threshold {
				t.Errorf("%v %v, want %s %v", a["ComparisonOperator"], a["Threshold"], w.cmp, w.threshold)
			}
			if a["EvaluationPeriods"] != float64(1) || a["TreatMissingData"] != "notBreaching" {
				t.Errorf("EvaluationPeriods %v, TreatMissingData %v, want 1, notBreaching", a["EvaluationPeriods"], a["TreatMissingData"])
			}
		})
	}

	t.Run("TopicEncryptedWithStackKey", func(t *testing.T) {
		topic, _ := s.resources[topicID]["Properties"].(map[string]any)
		if !reflect.DeepEqual(topic["KmsMasterKeyId"], getAtt(keyID, "Arn")) {
			t.Errorf("KmsMasterKeyId = %v, want the stack's key", topic["KmsMasterKeyId"])
		}
		if topic["DisplayName"] != "Clientele alarms" {
			t.Errorf("DisplayName = %v", topic["DisplayName"])
		}
	})

	sourceAccount := map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}
	cloudwatch := map[string]any{"Service": "cloudwatch.amazonaws.com"}

	t.Run("KeyLetsCloudWatchEncryptForThisAccount", func(t *testing.T) {
		key, _ := s.resources[keyID]["Properties"].(map[string]any)
		doc, _ := key["KeyPolicy"].(map[string]any)
		var found []map[string]any
		for _, st := range list(doc["Statement"]) {
			st, _ := st.(map[string]any)
			if reflect.DeepEqual(st["Principal"], cloudwatch) {
				found = append(found, st)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d key policy statements for CloudWatch, want 1", len(found))
		}
		st := found[0]
		actions := stringList(st["Action"])
		slices.Sort(actions)
		if st["Effect"] != "Allow" || !slices.Equal(actions, []string{"kms:Decrypt", "kms:GenerateDataKey*"}) {
			t.Errorf("CloudWatch may %v %v on the key, want Allow kms:Decrypt, kms:GenerateDataKey*", st["Effect"], actions)
		}
		if want := map[string]any{"StringEquals": sourceAccount}; !reflect.DeepEqual(st["Condition"], want) {
			t.Errorf("Condition = %v, want %v", st["Condition"], want)
		}
	})

	t.Run("TopicLetsThisAccountsAlarmsPublish", func(t *testing.T) {
		var policy map[string]any
		for _, p := range s.ofType("AWS::SNS::TopicPolicy") {
			if reflect.DeepEqual(p["Topics"], []any{ref(topicID)}) {
				policy = p
			}
		}
		if policy == nil {
			t.Fatalf("no policy of topic %s", topicID)
		}
		doc, _ := policy["PolicyDocument"].(map[string]any)
		var allow []map[string]any
		tlsOnly := false
		for _, st := range list(doc["Statement"]) {
			st, _ := st.(map[string]any)
			switch st["Effect"] {
			case "Allow":
				allow = append(allow, st)
			case "Deny":
				tlsOnly = tlsOnly || reflect.DeepEqual(st["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}})
			}
		}
		if !tlsOnly {
			t.Error("the topic accepts messages without TLS")
		}
		if len(allow) != 1 {
			t.Fatalf("%d Allow statements, want 1 (CloudWatch): %v", len(allow), allow)
		}
		st := allow[0]
		if !reflect.DeepEqual(st["Principal"], cloudwatch) || st["Action"] != "sns:Publish" || !reflect.DeepEqual(st["Resource"], ref(topicID)) {
			t.Errorf("Allow %v %v on %v, want CloudWatch sns:Publish on %s", st["Principal"], st["Action"], st["Resource"], topicID)
		}
		cond, _ := st["Condition"].(map[string]any)
		if !reflect.DeepEqual(cond["StringEquals"], sourceAccount) {
			t.Errorf("StringEquals = %v, want %v", cond["StringEquals"], sourceAccount)
		}
		like, _ := cond["ArnLike"].(map[string]any)
		if arn := jsonString(like["aws:SourceArn"]); !containsAll(arn, `:cloudwatch:`, `"AWS::Region"`, `"AWS::AccountId"`, `:alarm:*`) {
			t.Errorf("ArnLike aws:SourceArn = %s, want this account's and region's alarms", arn)
		}
	})

	t.Run("OutputNamesTheTopic", func(t *testing.T) {
		out, _ := s.outputs["AlarmTopicArn"].(map[string]any)
		if !reflect.DeepEqual(out["Value"], ref(topicID)) {
			t.Errorf("output AlarmTopicArn = %v, want %v", out["Value"], ref(topicID))
		}
	})
}

func containsAll(s string, subs ...string) bool {
	return !slices.ContainsFunc(subs, func(sub string) bool { return !strings.Contains(s, sub) })
}
