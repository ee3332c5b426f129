// Command reports is the Lambda function that serves the report routes and
// is the main table's stream consumer (internal/consumer), keeping the
// report aggregates. It neither parses phone numbers nor publishes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

// function is what this Lambda serves and the edges it links; the tests
// build and invoke the same.
var function = app.Function{Name: api.FnReports}

func main() {
	if err := app.ServeLambda(context.Background(), os.Getenv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "reports:", err)
		os.Exit(1)
	}
}
