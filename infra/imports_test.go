package infra

import (
	"reflect"
	"slices"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

func TestImportQueue(t *testing.T) {
	s := stackTemplate(t)
	queueID, dlqID := s.logicalID(t, "ImportsQueue"), s.logicalID(t, "ImportsDLQ")

	t.Run("FeedsTheImportsFunction", func(t *testing.T) {
		var esm map[string]any
		for _, m := range s.ofType("AWS::Lambda::EventSourceMapping") {
			if reflect.DeepEqual(m["EventSourceArn"], getAtt(queueID, "Arn")) {
				esm = m
			}
		}
		if esm == nil {
			t.Fatal("no event source mapping from the import queue")
		}
		if esm["BatchSize"] != float64(1) || !reflect.DeepEqual(esm["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
			t.Errorf("mapping %v", esm)
		}
		if !mentions(esm["FunctionName"], s.aliases[api.FnImports]) {
			t.Errorf("FunctionName = %v, want the imports function's live alias", esm["FunctionName"])
		}
	})

	t.Run("EncryptedWithDeadLetterQueue", func(t *testing.T) {
		q := s.resources[queueID]["Properties"].(map[string]any)
		want := map[string]any{"deadLetterTargetArn": getAtt(dlqID, "Arn"), "maxReceiveCount": float64(importMaxReceive)}
		if !reflect.DeepEqual(q["RedrivePolicy"], want) {
			t.Errorf("RedrivePolicy = %v, want %v", q["RedrivePolicy"], want)
		}
		timeout := float64(6 * s.stage.Function(api.FnImports).TimeoutSeconds)
		if q["VisibilityTimeout"] != timeout {
			t.Errorf("VisibilityTimeout = %v, want %v", q["VisibilityTimeout"], timeout)
		}
		for _, id := range []string{queueID, dlqID} {
			if p := s.resources[id]["Properties"].(map[string]any); p["SqsManagedSseEnabled"] != true {
				t.Errorf("%s is not encrypted: %v", id, p)
			}
		}
	})

	t.Run("OnlyCustomersAndImportsSend", func(t *testing.T) {
		roleOf := map[string]string{}
		for name, id := range s.functions {
			att := s.resources[id]["Properties"].(map[string]any)["Role"].(map[string]any)["Fn::GetAtt"].([]any)
			roleOf[att[0].(string)] = name
		}
		var senders []string
		for _, p := range s.ofType("AWS::IAM::Policy") {
			doc := p["PolicyDocument"].(map[string]any)
			for _, st := range doc["Statement"].([]any) {
				st := st.(map[string]any)
				actions, _ := st["Action"].([]any)
				if a, ok := st["Action"].(string); ok {
					actions = []any{a}
				}
				if !slices.Contains(actions, any("sqs:SendMessage")) || !mentions(st["Resource"], queueID) {
					continue
				}
				for _, r := range p["Roles"].([]any) {
					if name, ok := roleOf[r.(map[string]any)["Ref"].(string)]; ok {
						senders = append(senders, name)
					}
				}
			}
		}
		slices.Sort(senders)
		if want := []string{api.FnCustomers, api.FnImports}; !slices.Equal(senders, want) {
			t.Errorf("senders %v, want %v", senders, want)
		}
	})
}
