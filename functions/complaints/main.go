// Command complaints is the Lambda function serving the complaint routes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

func main() {
	if err := app.ServeLambda(context.Background(), os.Getenv, api.FnComplaints); err != nil {
		fmt.Fprintln(os.Stderr, "complaints:", err)
		os.Exit(1)
	}
}
