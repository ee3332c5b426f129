// Command customers is the Lambda function serving the customer routes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

func main() {
	if err := app.ServeLambda(context.Background(), os.Getenv, api.FnCustomers); err != nil {
		fmt.Fprintln(os.Stderr, "customers:", err)
		os.Exit(1)
	}
}
