package infra

import (
	"reflect"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

func TestReportsStreamConsumer(t *testing.T) {
	s := stackTemplate(t)
	var esm map[string]any
	for _, m := range s.ofType("AWS::Lambda::EventSourceMapping") {
		if mentions(m["EventSourceArn"], s.mainTable) {
			if esm != nil {
				t.Fatal("the table's stream has more than one reader")
			}
			esm = m
		}
	}
	want := map[string]any{
		"EventSourceArn":             getAtt(s.mainTable, "StreamArn"),
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
	if !mentions(esm["FunctionName"], s.aliases[api.FnReports]) {
		t.Errorf("FunctionName = %v, want the reports function's live alias", esm["FunctionName"])
	}
	dest, _ := esm["DestinationConfig"].(map[string]any)
	onFailure, _ := dest["OnFailure"].(map[string]any)
	if onFailure["Destination"] == nil {
		t.Error("no on-failure destination for skipped records")
	}
}
