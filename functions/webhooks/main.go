// Command webhooks is the Lambda function that serves the webhook routes
// and delivers the domain events to the registered endpoints: from the
// webhooks queue, which the stream consumer fills, and, on the schedule,
// the retries that fell due. It alone can open the endpoints' signing
// secrets.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/notify/snsnotify"
)

// function is what this Lambda serves and the edges it links: it
// notifies admins of an endpoint it disabled.
var function = app.Function{Name: api.FnWebhooks, Routes: api.WebhooksRoutes(), Lambda: app.WebhooksLambda,
	Publisher: snsnotify.New}

func main() {
	if err := app.ServeLambda(context.Background(), os.LookupEnv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "webhooks:", err)
		os.Exit(1)
	}
}
