// Command reports is the Lambda function that serves the report routes and
// is the main table's stream consumer (internal/consumer), keeping the
// report aggregates and deriving the domain events, which it alone puts on
// the event bus and the webhooks queue. It never parses a phone number and
// sends no notification.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/eventbus"
)

// function is what this Lambda serves and the edges it links; the tests
// build and invoke the same.
var function = app.Function{Name: api.FnReports, Routes: api.ReportsRoutes(), Lambda: app.ReportsLambda, Events: eventbus.New}

func main() {
	if err := app.ServeLambda(context.Background(), os.LookupEnv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "reports:", err)
		os.Exit(1)
	}
}
