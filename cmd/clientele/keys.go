package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// defaultSettle is how long `keys rotate` waits after each phase change:
// longer than a process takes to see it (dynamo.DefaultKeyRefresh) plus
// the longest request that began before it.
const defaultSettle = 2*dynamo.DefaultKeyRefresh + 30*time.Second

// cmdKeys runs `clientele keys rotate [-settle D]`: it rotates the
// blind-index key (and the keys derived from it: cursors, self-service
// tokens, root-cause counters) online, resuming a rotation that stopped
// wherever it stopped. Progress goes to stderr.
func cmdKeys(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	if len(args) < 1 || args[0] != "rotate" {
		return fmt.Errorf("usage: clientele keys rotate [-settle D]")
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	settle := fs.Duration("settle", defaultSettle, "wait after each phase change, for every running process to see it")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	svc, stop, err := operatorServices(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	rot := svc.Table.Rotation()
	wait := func(what string) error {
		fmt.Fprintf(stderr, "%s; waiting %s for every process to see it\n", what, *settle)
		select {
		case <-time.After(*settle):
			return nil
		case <-ctx.Done():
			return fmt.Errorf("interrupted; run again to resume: %w", ctx.Err())
		}
	}
	st, err := rot.State(ctx)
	if err != nil {
		return err
	}
	if st.Phase == "" {
		if err := rot.Prepare(ctx); err != nil {
			return err
		}
		if st, err = rot.State(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "rotation started: version %d replaces version %d\n", st.Other, st.Version)
	} else {
		fmt.Fprintf(stderr, "resuming the rotation (phase %s)\n", st.Phase)
	}
	if st.Phase == "prepared" {
		if err := wait("the next key is known"); err != nil {
			return err
		}
		if err := rot.Switch(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "writes now use the new key; reads accept both")
	}
	if !st.Done {
		if err := wait("no process writes under the previous key any more"); err != nil {
			return err
		}
		moved, conflicts, err := rot.Migrate(ctx, stderr)
		if err != nil {
			return fmt.Errorf("re-derive the index (run again to resume): %w", err)
		}
		fmt.Fprintf(stderr, "index re-derived: %d entries moved\n", moved)
		if conflicts > 0 {
			return fmt.Errorf("%d customers' entries could not be moved (listed above); both keys stay accepted until they are resolved and the rotation is run again", conflicts)
		}
	}
	// Root-cause counters are named by a key derived from the index key:
	// recount them under the new one before the old is dropped.
	if _, err := svc.Table.Aggregates().Rebuild(ctx, svc.ReportPolicy, true, stderr); err != nil {
		return fmt.Errorf("rebuild the report aggregates (run again to resume): %w", err)
	}
	if err := rot.Retire(ctx); err != nil {
		return err
	}
	st, err = rot.State(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "blind-index key rotated: version %d in use, the previous version retired\n", st.Version)
	return nil
}
