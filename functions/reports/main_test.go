//go:build !fast

// Every test here needs DynamoDB Local: the fast tier (make test-fast,
// -tags fast) leaves this file out rather than link a whole program only
// to skip it.

package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestSampleEvents(t *testing.T) {
	e := testenv.New(t)
	e.ReplayEvents("../../events", function, map[string]int{
		"reports-data-quality.json":              200,
		"reports-complaints.json":                200,
		"reports-customers-sales-forbidden.json": 403,
	})
}

// TestStreamEvent feeds the sample stream batch through the function's
// handler: items that count for nothing, and the aggregates' own items, are
// passed over without failure.
func TestStreamEvent(t *testing.T) {
	e := testenv.New(t)
	raw, err := os.ReadFile("../../events/reports-stream.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := app.ReportsHandler(e.Services, api.NewHandler(e.Services.API, api.FnReports, function.Routes))(context.Background(), json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.DynamoDBEventResponse); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures: %+v", resp.BatchItemFailures)
	}
	aggs, err := e.Services.Table.Aggregates().Aggregates(context.Background(), []string{"cust"})
	if err != nil || len(aggs["cust"]) != 0 {
		t.Errorf("the sample batch changed the aggregates: %v %v", aggs, err)
	}
}
