// Command complaints is the Lambda function serving the complaint routes. It
// publishes assignment notifications to SNS.
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
var function = app.Function{Name: api.FnComplaints, Routes: api.ComplaintsRoutes(), Publisher: snsnotify.New}

func main() {
	if err := app.ServeLambda(context.Background(), os.LookupEnv, function, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "complaints:", err)
		os.Exit(1)
	}
}
