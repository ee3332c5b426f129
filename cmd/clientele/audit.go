package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
)

// cmdAudit runs `clientele audit verify`, which checks the digests and
// walks every chain of the audit log, reporting the first broken link of
// each and exiting non-zero if any, and `clientele audit digest`, which
// writes the next signed digest now (as the schedule does).
func cmdAudit(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "verify" && args[0] != "digest") {
		return fmt.Errorf("usage: clientele audit verify|digest")
	}
	svc, stop, err := operatorServices(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	if args[0] == "digest" {
		d, err := app.WriteDigest(ctx, svc, time.Now())
		switch {
		case err != nil:
			return err
		case d == nil:
			fmt.Fprintln(stdout, "no digest: the last one already covers up to the settling time")
		default:
			fmt.Fprintf(stdout, "digest %d written: %d chain heads, entries up to %s, signed by %s\n", d.Seq, d.Heads, d.To.Format(time.RFC3339), d.KeyID)
		}
		return nil
	}
	// The outcome is recorded, for GET /audit/verify and the console.
	rep, _, err := app.VerifyAudit(ctx, svc, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d digests, %d chains, %d entries checked; %d entries newer than the last digest\n", rep.Digests, rep.Chains, rep.Entries, rep.Unsigned)
	if len(rep.Breaks) == 0 {
		fmt.Fprintf(stdout, "audit log intact: %d entries in %d chains verified, %d digests\n", rep.Entries, rep.Chains, rep.Digests)
		return nil
	}
	for _, b := range rep.Breaks {
		fmt.Fprintf(stdout, "BROKEN %s\n", b)
	}
	return fmt.Errorf("%d audit chain(s) or digest(s) broken", len(rep.Breaks))
}

// operatorServices builds the services an operator command works on: on
// AWS (KEYRING=kms, no DYNAMODB_ENDPOINT) the deployed tables with the
// operator's credentials, locally the local table.
func operatorServices(ctx context.Context, getenv app.Environ, stderr io.Writer) (*app.Services, func(), error) {
	cfg, err := app.LoadEnviron(getenv)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Keyring == "kms" && cfg.Endpoint == "" {
		edges, err := app.Open(ctx, cfg, everything, os.Stdout, stderr)
		if err != nil {
			return nil, nil, err
		}
		svc, err := app.Build(ctx, cfg, everything, edges)
		return svc, func() {}, err
	}
	stop := func() {}
	if cfg.Endpoint == "" {
		endpoint, stopDB, err := localDynamoDB(ctx, cfg, stderr, false)
		if err != nil {
			return nil, nil, err
		}
		stop, cfg.Endpoint = stopDB, endpoint
	}
	svc, err := localServices(ctx, cfg, stderr)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return svc, stop, nil
}

// cmdReports runs `clientele reports rebuild [-check]`: it recomputes every
// report aggregate exactly from the tables and replaces the stored ones
// (with -check, only reports how they differ, exiting non-zero if they do).
func cmdReports(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	if len(args) < 1 || args[0] != "rebuild" {
		return fmt.Errorf("usage: clientele reports rebuild [-check]")
	}
	fs := flag.NewFlagSet("reports rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "compare only; write nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	svc, stop, err := operatorServices(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	res, err := svc.Table.Aggregates().Rebuild(ctx, svc.ReportPolicy, !*check, stderr)
	if err != nil {
		return err
	}
	diff := res.Differences()
	for _, d := range diff {
		fmt.Fprintln(stdout, "DIFFERS", d)
	}
	fmt.Fprintf(stdout, "%d items scanned, %d aggregates, %d counters differed\n", res.Items, len(res.Computed), len(diff))
	if *check && len(diff) > 0 {
		return fmt.Errorf("the aggregates differ from the tables in %d counters", len(diff))
	}
	return nil
}
