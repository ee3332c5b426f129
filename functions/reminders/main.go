// Command reminders is the Lambda function that runs the reminder job on
// its schedule and serves the reminder routes. It publishes reminders to
// SNS and never parses a phone number.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/notify/snsnotify"
)

// function is what this Lambda serves and the edges it links; the tests
// build and invoke the same.
var function = app.Function{Name: api.FnReminders, Routes: api.RemindersRoutes(), Lambda: app.RemindersLambda,
	Publisher: snsnotify.New}

func main() {
	if err := app.ServeLambda(context.Background(), os.LookupEnv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "reminders:", err)
		os.Exit(1)
	}
}
