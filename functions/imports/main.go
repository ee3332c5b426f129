// Command imports is the Lambda function that processes background imports:
// SQS delivers one task per chunk of an import's rows, and it creates the
// chunk's customers as POST /customers would, then queues the next chunk.
// It parses phone numbers as people type them and judges emails and
// languages, like the customers function whose rules it applies, and
// sends no notifications.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/disposable"
	"github.com/clientele-crm/clientele/internal/importqueue"
	"github.com/clientele-crm/clientele/internal/langtag"
	"github.com/clientele-crm/clientele/internal/phone"
)

// function is what this Lambda serves and the edges it links; the tests
// build and invoke the same.
var function = app.Function{Name: api.FnImports, Lambda: app.ImportsLambda, ParsePhone: phone.E164, ImportQueue: importqueue.New,
	DisposableDomain: disposable.Listed, CanonicalLanguage: langtag.Canonical}

func main() {
	if err := app.ServeLambda(context.Background(), os.LookupEnv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "imports:", err)
		os.Exit(1)
	}
}
