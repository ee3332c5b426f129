// Command customers is the Lambda function serving the customer routes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "customers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	svc, err := app.Start(ctx, getenv)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(api.NewHandler(svc.Deps, api.FnCustomers).Invoke, lambda.WithContext(ctx))
	return nil
}
