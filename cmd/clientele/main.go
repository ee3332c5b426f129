// Command clientele is the operator and developer CLI: the local runtime
// (DynamoDB Local plus the local gateway), tokens for it, and one-off
// invocations of the functions.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/clientele-crm/clientele/internal/app"
)

const usage = `usage: clientele <command> [flags]

commands:
  run                  start DynamoDB Local (unless DYNAMODB_ENDPOINT is set) and the local gateway on 127.0.0.1:$PORT
  token                print a token the local gateway accepts (-role, -user; or -client, -scopes)
  invoke               run a function's handler on a sample event (-fn, -event) against the local table
  with-dynamodb -- CMD run CMD with DYNAMODB_ENDPOINT set to a DynamoDB Local started for it
  tables               create the tables at DYNAMODB_ENDPOINT if they do not exist
  remind [-now T]      run the reminder job once against the local table, as of T (RFC 3339; default now)
  reports rebuild [-check]  recompute every report aggregate from the tables (-check: compare only)
  duplicates rebuild   re-derive the likely-duplicate pairs from the customers (then reports rebuild if no stream consumer runs)
  outbox               print the notifications the local runtime has sent
  load [-c 1,8,…] [-n N] [-mix …] [-faults] [-o FILE]
                       load benchmark against a DynamoDB Local and gateway of its own
  audit verify         walk every chain of the audit log and report the first broken link
  keys rotate [-settle D]  rotate the blind-index key online (resumable; progress on stderr)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clientele:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv app.Environ, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, getenv, stdout, stderr)
	case "token":
		return cmdToken(rest, getenv, stdout, stderr)
	case "invoke":
		return cmdInvoke(ctx, rest, getenv, stdout, stderr)
	case "with-dynamodb":
		return cmdWithDynamoDB(ctx, rest, getenv, stderr)
	case "tables":
		return cmdTables(ctx, getenv, stdout)
	case "remind":
		return cmdRemind(ctx, rest, getenv, stdout, stderr)
	case "reports":
		return cmdReports(ctx, rest, getenv, stdout, stderr)
	case "duplicates":
		return cmdDuplicates(ctx, rest, getenv, stdout, stderr)
	case "outbox":
		return cmdOutbox(getenv, stdout)
	case "audit":
		return cmdAudit(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return cmdKeys(ctx, rest, getenv, stdout, stderr)
	case "load":
		return cmdLoad(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
