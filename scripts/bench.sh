#!/usr/bin/env bash
# Runs every benchmark and writes the raw figures, with the machine they were
# measured on, to docs/bench-output.txt. Each benchmark binary gets a fresh
# DynamoDB Local: transactions in DynamoDB Local slow down as one process
# accumulates them, which would make later benchmarks pay for earlier ones.
# Within a benchmark, the paths it compares share one instance.
set -euo pipefail
out=${1:-docs/bench-output.txt}
fresh() { bin/clientele with-dynamodb -- go test -run '^$' -count=1 "$@" 2>/dev/null; }
{
  echo "# Clientele benchmark output"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "go: $(go version)"
  echo "dynamodb: DynamoDB Local (in memory), a fresh instance per benchmark binary"
  echo
  echo "## bootstrap sizes (linux/arm64, -tags lambda.norpc -trimpath -ldflags \"-s -w\")"
  for f in bin/*/bootstrap; do
    awk -v f="$f" -v n="$(stat -c %s "$f")" 'BEGIN { printf "%s %d bytes (%.1f MiB)\n", f, n, n / 1048576 }'
  done
  echo
  echo "## GET /customers/{id}: local gateway vs raw GetItem"
  fresh -bench 'GetCustomer' -benchtime=2000x ./internal/api/
  echo
  echo "## POST /complaints: local gateway vs the raw transaction it needs"
  fresh -bench 'ComplaintIntake' -benchtime=500x ./internal/api/
  echo
  echo "## Customer update with and without its audit entry"
  fresh -bench 'AuditedUpdate' -benchtime=1000x ./internal/dynamo/
  echo
  echo "## Reminder run over 10 000 and 100 000 customers, the same 500 items due"
  fresh -bench 'ReminderRun' -benchtime=3x -timeout 30m ./internal/dynamo/
  echo
  echo "## Report reads over 1 000 and 100 000 customers"
  fresh -bench 'Reports$' -benchtime=200x -timeout 30m ./internal/dynamo/
  echo
  echo "## Write capacity of one round of writes, keys-only indexes vs indexes projecting everything"
  fresh -bench 'WriteCapacity' -benchtime=50x ./internal/dynamo/
  echo
  echo "## Background import of 20 000 rows vs the raw transactions of the same items"
  fresh -bench 'BackgroundImport' -benchtime=1x -timeout 40m ./internal/api/
  echo
  echo "## KMS calls per 1000 operations (fake KMS over its JSON protocol)"
  fresh -bench 'KMSCalls' -benchtime=1000x ./internal/api/
  echo
  echo "## Sealing and opening a customer item vs plaintext"
  go test -run '^$' -bench 'CustomerItem|SealOpen' -count=5 ./internal/dynamo/ ./internal/envelope/ 2>/dev/null
  echo
  echo "## Phone parsing vs nyaruka/phonenumbers, and the first parse's compile"
  go test -run '^$' -count=5 -bench 'E164' -benchmem ./internal/phone/
} | tee "$out"
