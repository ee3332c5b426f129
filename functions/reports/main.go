// Command reports is the Lambda function that serves the report routes and
// consumes the main table's stream to keep the report aggregates.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

func main() {
	if err := app.ServeLambda(context.Background(), os.Getenv, api.FnReports); err != nil {
		fmt.Fprintln(os.Stderr, "reports:", err)
		os.Exit(1)
	}
}
