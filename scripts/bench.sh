#!/usr/bin/env bash
# Runs every benchmark in one go against one DynamoDB Local and writes the
# raw figures, with the machine they were measured on, to docs/bench-output.txt.
# Called by `make bench` inside `clientele with-dynamodb`.
set -euo pipefail
out=${1:-docs/bench-output.txt}
{
  echo "# Clientele benchmark output"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "go: $(go version)"
  echo "dynamodb: DynamoDB Local (in memory) at ${DYNAMODB_ENDPOINT:-?}"
  echo
  echo "## bootstrap sizes (linux/arm64, -tags lambda.norpc -trimpath -ldflags \"-s -w\")"
  for f in bin/*/bootstrap; do
    awk -v f="$f" -v n="$(stat -c %s "$f")" 'BEGIN { printf "%s %d bytes (%.1f MiB)\n", f, n, n / 1048576 }'
  done
  echo
  echo "## GET /customers/{id}: local gateway vs raw GetItem"
  go test -run '^$' -bench 'GetCustomer' -benchtime=2000x -count=1 ./internal/api/
  echo
  echo "## POST /complaints: local gateway vs the raw transaction it needs"
  go test -run '^$' -bench 'ComplaintIntake' -benchtime=500x -count=1 ./internal/api/
  echo
  echo "## Customer update with and without its audit entry"
  go test -run '^$' -bench 'AuditedUpdate' -benchtime=1000x -count=1 ./internal/dynamo/
  echo
  echo "## KMS calls per 1000 operations (fake KMS over its JSON protocol)"
  go test -run '^$' -bench 'KMSCalls' -benchtime=1000x -count=1 ./internal/api/
  echo
  echo "## Sealing and opening a customer item vs plaintext"
  go test -run '^$' -bench 'CustomerItem|SealOpen' -count=5 ./internal/dynamo/ ./internal/envelope/
} | tee "$out"
