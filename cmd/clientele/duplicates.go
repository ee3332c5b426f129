package main

import (
	"context"
	"fmt"
	"io"

	"github.com/clientele-crm/clientele/internal/app"
)

// cmdDuplicates runs `clientele duplicates rebuild`: it re-derives every
// customer's likely-duplicate blocks, pairs and state from the profiles,
// as the stream consumer keeps them.
func cmdDuplicates(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "rebuild" {
		return fmt.Errorf("usage: clientele duplicates rebuild")
	}
	svc, stop, err := operatorServices(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	n, err := svc.Table.Customers().RebuildDuplicates(ctx, stderr)
	if err != nil {
		return err
	}
	pairs, err := svc.Table.Customers().LikelyDuplicates(ctx, 1<<30)
	if err != nil {
		return err
	}
	// The stream consumer counts the changed states into the report; with
	// no consumer running, `reports rebuild` does.
	fmt.Fprintf(stdout, "%d customers refreshed, %d likely-duplicate pairs open\n", n, len(pairs))
	return nil
}
