//go:build !fast

// Every test here needs DynamoDB Local: the fast tier (make test-fast,
// -tags fast) leaves this file out rather than link a whole program only
// to skip it.

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/ddblocal"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

var endpoint string

// TestMain starts DynamoDB Local, except with -short (the fast tier, which
// runs without Java): then the tests that need it are skipped.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ep, stop, err := ddblocal.TestEndpoint()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	endpoint = ep
	code := m.Run()
	stop()
	os.Exit(code)
}

// newTable creates a main and audit table from the stack's definitions,
// dropped when the test ends.
func newTable(t *testing.T) (string, *dynamodb.Client) {
	t.Helper()
	needDynamoDB(t)
	ctx := context.Background()
	db, err := ddblocal.Client(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("floor-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := dynamo.EnsureTables(ctx, db, table, table+"-audit"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range []string{table, table + "-audit"} {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	return table, db
}

func needDynamoDB(t *testing.T) {
	t.Helper()
	if endpoint == "" {
		t.Skip("needs DynamoDB Local, which -short does not start")
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFloorReadsTheLocalTable(t *testing.T) {
	ctx := context.Background()
	table, db := newTable(t)
	c, err := newClients(ctx, env(map[string]string{"DYNAMODB_ENDPOINT": endpoint}), table)
	if err != nil {
		t.Fatal(err)
	}
	if c.kms == nil || c.sns == nil {
		t.Error("the KMS and SNS clients a function holds were not built")
	}
	found, err := c.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if found {
		t.Fatal("found an item in a new table")
	}
	// The floor's key must be the table's: a wrong attribute name would be
	// a validation error, not a miss.
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "COLDSTART#floor"},
		"SK": &types.AttributeValueMemberS{Value: "COLDSTART#floor"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.handle(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/healthz"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Body != `{"found":true}` {
		t.Errorf("handle = %d %s, want 200 {\"found\":true}", resp.StatusCode, resp.Body)
	}
}

func TestFloorErrors(t *testing.T) {
	needDynamoDB(t)
	ctx := context.Background()
	t.Run("ErrNoTableName", func(t *testing.T) {
		if err := run(ctx, env(map[string]string{"DYNAMODB_ENDPOINT": endpoint})); err == nil {
			t.Error("ran without TABLE_NAME")
		}
	})
	t.Run("ErrMissingTable", func(t *testing.T) {
		// run fails at its init read, before it would start the runtime
		// loop: the read really goes to DYNAMODB_ENDPOINT.
		err := run(ctx, env(map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": "no-such-table-floor"}))
		if err == nil {
			t.Error("init read of a missing table succeeded")
		}
	})
}
