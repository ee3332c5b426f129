// Command customers is the Lambda function serving the customer routes.
// With the imports function, it is the one that writes customer records,
// so the one that links the numbering plan's metadata (to parse phone
// numbers as people type them), the disposable mail domains and the
// language tables; it sends no notifications. It takes background imports
// and queues them for the imports function.
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
var function = app.Function{Name: api.FnCustomers, Routes: api.CustomersRoutes(), ParsePhone: phone.E164, ImportQueue: importqueue.New,
	DisposableDomain: disposable.Listed, CanonicalLanguage: langtag.Canonical}

func main() {
	if err := app.ServeLambda(context.Background(), os.LookupEnv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customers:", err)
		os.Exit(1)
	}
}
