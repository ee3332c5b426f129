package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
)

func cmdInvoke(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fn := fs.String("fn", api.FnCustomers, "the function to invoke")
	file := fs.String("event", "", "a JSON file holding an API Gateway HTTP API event")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("-event is required")
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("event %s is not an API Gateway HTTP API event: %w", *file, err)
	}
	known := false
	for _, rt := range api.Routes() {
		known = known || rt.Function == *fn
	}
	if !known {
		return fmt.Errorf("no function %q", *fn)
	}
	svc, stop, err := operatorServices(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	resp, err := api.NewHandler(svc.API, *fn, everything.Routes).Invoke(ctx, ev)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}
