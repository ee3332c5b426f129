package main

import (
	"context"
	"fmt"
	"io"

	"github.com/clientele-crm/clientele/internal/app"
)

// cmdAudit runs `clientele audit verify`: it walks every chain of the audit
// log and reports the first broken link of each, exiting non-zero if any.
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return fmt.Errorf("usage: clientele audit verify")
	}
	cfg, err := app.Load(getenv)
	if err != nil {
		return err
	}
	var svc *app.Services
	if cfg.Keyring == "kms" && cfg.Endpoint == "" {
		// On AWS: the deployed tables, the operator's credentials.
		svc, err = app.Start(ctx, getenv)
	} else {
		if cfg.Endpoint == "" {
			endpoint, stop, err := localDynamoDB(ctx, cfg, stderr, false)
			if err != nil {
				return err
			}
			defer stop()
			cfg.Endpoint = endpoint
		}
		svc, err = localServices(ctx, cfg)
	}
	if err != nil {
		return err
	}
	breaks, total, err := svc.Store.VerifyAudit(ctx, func(shard, entries int) {
		fmt.Fprintf(stderr, "shard %2d: %d entries checked\n", shard, entries)
	})
	if err != nil {
		return err
	}
	if len(breaks) == 0 {
		fmt.Fprintf(stdout, "audit log intact: %d entries in every chain verified\n", total)
		return nil
	}
	for _, b := range breaks {
		fmt.Fprintf(stdout, "BROKEN %s\n", b)
	}
	return fmt.Errorf("%d audit chain(s) broken", len(breaks))
}
