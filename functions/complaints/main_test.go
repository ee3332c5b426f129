//go:build !fast

// Every test here needs DynamoDB Local: the fast tier (make test-fast,
// -tags fast) leaves this file out rather than link a whole program only
// to skip it.

package main

import (
	"context"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSampleEvents replays every sample event of this function through the
// real Lambda handler against DynamoDB Local, with the customer the samples
// name on file.
func TestSampleEvents(t *testing.T) {
	e := testenv.New(t)
	now := time.Now().UTC()
	err := e.Services.Table.Customers().CreateCustomer(context.Background(), crm.Customer{
		ID: "c_samplecustomer00001", Name: "Li Wei", Email: "sample@example.com", OwnerID: "alice",
		CreatedAt: now, UpdatedAt: now, ReviewDueAt: now.Add(time.Hour), Version: 1,
	}, false, crm.NewAudit(context.Background(), crm.Actor{ID: "test-setup"}, "customer.create", "customer", "c_samplecustomer00001"))
	if err != nil {
		t.Fatal(err)
	}
	e.ReplayEvents("../../events", function, map[string]int{
		"complaints-create.json":                     201,
		"complaints-create-invalid.json":             400,
		"complaints-list.json":                       200,
		"complaints-list-breached.json":              200,
		"complaints-list-finance-forbidden.json":     403,
		"complaints-get-unknown.json":                404,
		"complaints-transition-unknown.json":         404,
		"complaints-transition-resolve-unknown.json": 404,
		"complaints-note-unknown.json":               404,
	})
}
