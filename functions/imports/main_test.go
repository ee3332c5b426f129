//go:build !fast

// Every test here needs DynamoDB Local: the fast tier (make test-fast,
// -tags fast) leaves this file out rather than link a whole program only
// to skip it.

package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type held struct{}

func (held) Enqueue(context.Context, crm.ImportTask) error { return nil }

// TestSQSTasks invokes the function's own handler, as Lambda's SQS event
// source does, with the task of a stored import: it completes the import;
// a task that cannot be processed is handed back until its last delivery,
// which fails the import.
func TestSQSTasks(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cust := e.Services.API.Customers
	start := func(id string) crm.Import {
		t.Helper()
		starter := &crm.Imports{Store: e.Services.Table.Imports(), Customers: cust, Queue: held{}, Now: time.Now,
			NewID: func(string) string { return id }, Decode: api.DecodeImportRow(cust.Policy)}
		imp, err := starter.Start(ctx, crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}},
			[]crm.ImportRow{{N: 1, Raw: []byte(`{"name":"Li Wei","phone":"13800138000"}`)}, {N: 2, Raw: []byte(`{"name":""}`)}})
		if err != nil {
			t.Fatal(err)
		}
		return imp
	}
	svc, err := app.Build(ctx, e.Config, function, app.Edges{DB: e.DB, Keyring: e.Keyring, Logger: e.Services.API.Logger, AuditKey: e.Services.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	h := lambda.NewHandler(app.Handler(svc, function))
	invoke := func(id, received string) events.SQSEventResponse {
		t.Helper()
		body, _ := json.Marshal(crm.ImportTask{ImportID: id})
		ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-" + id + received, Body: string(body),
			Attributes: map[string]string{"ApproximateReceiveCount": received}}}})
		out, err := h.Invoke(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("Processes", func(t *testing.T) {
		imp := start("imp_sqs_ok")
		if resp := invoke(imp.ID, "1"); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %v", resp.BatchItemFailures)
		}
		got, err := svc.API.Imports.Get(ctx, imp.ID)
		if err != nil || got.Status != crm.ImportDone || got.Created != 1 || got.Rejected != 1 {
			t.Fatalf("import %+v, err %v", got, err)
		}
	})
	t.Run("FailsOnLastDelivery", func(t *testing.T) {
		imp := start("imp_sqs_lost")
		// A chunk that is gone cannot be processed however often it comes.
		if _, err := e.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(e.Config.Table), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "IMPORT#" + imp.ID}, "SK": &types.AttributeValueMemberS{Value: "CHUNK#000000"}}}); err != nil {
			t.Fatal(err)
		}
		if resp := invoke(imp.ID, "1"); len(resp.BatchItemFailures) != 1 {
			t.Fatalf("failures %v, want the task back", resp.BatchItemFailures)
		}
		if resp := invoke(imp.ID, "5"); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %v on the last delivery", resp.BatchItemFailures)
		}
		if got, _ := svc.API.Imports.Get(ctx, imp.ID); got.Status != crm.ImportFailed || got.FinishedAt.IsZero() {
			t.Fatalf("import %+v", got)
		}
	})
}
