// Command reminders is the Lambda function that runs the reminder job on
// its schedule and serves the reminder routes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

func main() {
	if err := app.ServeLambda(context.Background(), os.Getenv, api.FnReminders); err != nil {
		fmt.Fprintln(os.Stderr, "reminders:", err)
		os.Exit(1)
	}
}
