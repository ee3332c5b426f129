package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/notify"
)

// cmdOutbox prints the notifications the local runtime has sent, one JSON
// object a line, oldest first.
func cmdOutbox(getenv app.Environ, stdout io.Writer) error {
	cfg, err := app.LoadEnviron(getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.StateDir, "outbox.jsonl")
	notes, err := notify.ReadOutbox(path)
	if err != nil {
		return err
	}
	if len(notes) == 0 {
		fmt.Fprintf(stdout, "no notifications yet (%s)\n", path)
		return nil
	}
	enc := json.NewEncoder(stdout)
	for _, n := range notes {
		if err := enc.Encode(n); err != nil {
			return err
		}
	}
	return nil
}
