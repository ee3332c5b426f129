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
	keyID := s.logicalID(t, "OperationsKey")
	dataKeyID := s.logicalID(t, "Key")
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
		return map[string]any{"Namespace": "Clientele", "MetricName": metric, "Statistic": "Average", "Period": float64(3600),
			"Dimensions": []any{map[string]any{"Name": "Stage", "Value": s.stage.Name}}}
	}
	table := func(metric, id string) map[string]any {
		return map[string]any{"Namespace": "AWS/DynamoDB", "MetricName": metric, "Statistic": "Sum", "Period": float64(300),
			"Dimensions": []any{map[string]any{"Name": "TableName", "Value": ref(id)}}}
	}
	apiID, _ := s.only(t, "AWS::ApiGatewayV2::Api")
	targets := s.stage.Targets()
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
		"ReminderDLQAlarm":              {queue(reminderDLQ), ge, 1},
		"ReminderRunFailedAlarm":        {lambda("Errors", reminders, "Sum", 60*float64(s.stage.ReminderRateMinutes)), ge, 1},
		"ReportsStreamDLQAlarm":         {queue(streamDLQ), ge, 1},
		"ImportsDLQAlarm":               {queue(s.logicalID(t, "ImportsDLQ")), ge, 1},
		"ReportsIteratorAgeAlarm":       {lambda("IteratorAge", reports, "Maximum", 300), gt, 300000},
		"CompletenessTargetAlarm":       {kpi("CompletenessRate"), lt, targets.Completeness},
		"TimelinessTargetAlarm":         {kpi("TimelinessRate"), lt, targets.Timeliness},
		"DuplicatesTargetAlarm":         {kpi("DuplicateRate"), gt, targets.Duplicates},
		"InvalidTargetAlarm":            {kpi("InvalidRate"), gt, targets.Invalid},
		"SelfServiceTargetAlarm":        {kpi("SelfServiceRate"), lt, targets.SelfService},
		"UpdateCycleTargetAlarm":        {kpi("UpdateCycleMedianHours"), gt, targets.UpdateCycleHours},
		"SuspectTargetAlarm":            {kpi("SuspectRate"), gt, targets.Suspect},
		"ChurnTargetAlarm":              {kpi("ChurnRate"), gt, targets.Churn},
		"SatisfactionTargetAlarm":       {kpi("SatisfactionRate"), lt, s.stage.SatisfactionTarget()},
		"TableReadThrottlesAlarm":       {table("ReadThrottleEvents", s.mainTable), ge, 1},
		"TableWriteThrottlesAlarm":      {table("WriteThrottleEvents", s.mainTable), ge, 1},
		"AuditTableReadThrottlesAlarm":  {table("ReadThrottleEvents", s.auditTable), ge, 1},
		"AuditTableWriteThrottlesAlarm": {table("WriteThrottleEvents", s.auditTable), ge, 1},
		"FlaggedUsersAlarm": {map[string]any{"Namespace": "Clientele", "MetricName": "FlaggedUsers", "Statistic": "Maximum", "Period": float64(300),
			"Dimensions": []any{map[string]any{"Name": "Stage", "Value": s.stage.Name}}}, ge, 1},
		"ApiLatencyAlarm": {map[string]any{"Namespace": "AWS/ApiGateway", "MetricName": "Latency", "ExtendedStatistic": "p99", "Period": float64(300),
			"Dimensions": []any{map[string]any{"Name": "ApiId", "Value": ref(apiID)}}}, ge, 5000},
		// Domain events and webhooks.
		"WebhookEventsDLQAlarm": {queue(s.logicalID(t, "WebhookEventsDLQ")), ge, 1},
		"WebhookRetryDLQAlarm":  {queue(s.logicalID(t, "WebhookRetryScheduleDLQ")), ge, 1},
		"WebhookEventsAgeAlarm": {map[string]any{"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage", "Statistic": "Maximum", "Period": float64(300),
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": getAtt(s.logicalID(t, "WebhookEvents"), "QueueName")}}}, gt, 900},
	}
	for name, fnID := range s.functions {
		id := exportedName(name)
		timeout := float64(s.stage.Function(name).TimeoutSeconds) * 1000
		want[id+"ErrorsAlarm"] = struct {
			metric    map[string]any
			cmp       string
			threshold float64
		}{lambda("Errors", fnID, "Sum", 300), ge, 1}
		want[id+"ThrottlesAlarm"] = struct {
			metric    map[string]any
			cmp       string
			threshold float64
		}{lambda("Throttles", fnID, "Sum", 300), ge, 1}
		want[id+"IntegrityAlarm"] = struct {
			metric    map[string]any
			cmp       string
			threshold float64
		}{map[string]any{"Namespace": "Clientele", "MetricName": "IntegrityFailures-" + name, "Statistic": "Sum", "Period": float64(300),
			"Dimensions": []any{map[string]any{"Name": "Stage", "Value": s.stage.Name}}}, ge, 1}
		d := lambda("Duration", fnID, "", 300)
		delete(d, "Statistic")
		d["ExtendedStatistic"] = "p99"
		want[id+"DurationAlarm"] = struct {
			metric    map[string]any
			cmp       string
			threshold float64
		}{d, ge, 0.8 * timeout}
	}
	// Alarms on metric math: a rate, and a sum over operations.
	math := map[string]float64{"Api5xxRateAlarm": 1, "TableSystemErrorsAlarm": 1, "AuditTableSystemErrorsAlarm": 1}

	t.Run("AllKnown", func(t *testing.T) {
		if len(alarms) != len(want)+len(math) {
			t.Errorf("%d alarms, want %d", len(alarms), len(want)+len(math))
		}
	})

	for construct, threshold := range math {
		t.Run(construct, func(t *testing.T) {
			a := alarms[s.logicalID(t, construct)]
			if a["Metrics"] == nil || a["Threshold"] != threshold {
				t.Errorf("Metrics %v, Threshold %v, want metric math and %v", a["Metrics"], a["Threshold"], threshold)
			}
		})
	}

	t.Run("Api5xxRateIsErrorsOverRequests", func(t *testing.T) {
		m := jsonString(alarms[s.logicalID(t, "Api5xxRateAlarm")]["Metrics"])
		if !containsAll(m, `"5xx"`, `"Count"`, `100 * errors / MAX([errors, requests])`, apiID) {
			t.Errorf("Metrics = %s, want 5xx over Count of the API", m)
		}
	})

	t.Run("EveryAlarmNotifiesTheAlarmTopicAndClears", func(t *testing.T) {
		for id, a := range alarms {
			if got := a["AlarmActions"]; !reflect.DeepEqual(got, []any{ref(topicID)}) {
				t.Errorf("alarm %s: AlarmActions = %v, want [%v]", id, got, ref(topicID))
			}
			if got := a["OKActions"]; !reflect.DeepEqual(got, []any{ref(topicID)}) {
				t.Errorf("alarm %s: OKActions = %v, want [%v]", id, got, ref(topicID))
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
			if a["ComparisonOperator"] != w.cmp || a["Threshold"] != w.threshold {
				t.Errorf("%v %v, want %s %v", a["ComparisonOperator"], a["Threshold"], w.cmp, w.threshold)
			}
			if a["EvaluationPeriods"] != float64(1) || a["TreatMissingData"] != "notBreaching" {
				t.Errorf("EvaluationPeriods %v, TreatMissingData %v, want 1, notBreaching", a["EvaluationPeriods"], a["TreatMissingData"])
			}
		})
	}

	t.Run("TopicEncryptedWithOperationsKey", func(t *testing.T) {
		topic, _ := s.resources[topicID]["Properties"].(map[string]any)
		if !reflect.DeepEqual(topic["KmsMasterKeyId"], getAtt(keyID, "Arn")) {
			t.Errorf("KmsMasterKeyId = %v, want the operations key", topic["KmsMasterKeyId"])
		}
		if topic["DisplayName"] != "Clientele "+s.stage.Name+" alarms" {
			t.Errorf("DisplayName = %v", topic["DisplayName"])
		}
	})

	t.Run("PersonalDataKeyRefusesServices", func(t *testing.T) {
		key, _ := s.resources[dataKeyID]["Properties"].(map[string]any)
		doc, _ := key["KeyPolicy"].(map[string]any)
		for _, st := range list(doc["Statement"]) {
			st, _ := st.(map[string]any)
			if p, _ := st["Principal"].(map[string]any); p["Service"] != nil {
				t.Errorf("the personal-data key allows the service %v: %v", p["Service"], st)
			}
		}
	})

	t.Run("EmailSubscribed", func(t *testing.T) {
		s.hasProperties(t, "AWS::SNS::Subscription", map[string]any{
			"Protocol": "email", "Endpoint": s.stage.AlarmEmail, "TopicArn": ref(topicID),
		})
	})

	sourceAccount := map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}
	cloudwatch := map[string]any{"Service": "cloudwatch.amazonaws.com"}

	t.Run("KeyLetsCloudWatchEncryptForThisAccount", func(t *testing.T) {
		key, _ := s.resources[keyID]["Properties"].(map[string]any)
		doc, _ := key["KeyPolicy"].(map[string]any)
		var found []map[string]any
		for _, st := range list(doc["Statement"]) {
			st, _ := st.(map[string]any)
			if reflect.DeepEqual(st["Principal"], cloudwatch) || st["Sid"] == "CloudWatchAlarmsOfThisAccount" {
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
