# Clientele — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
CLI       := bin/clientele
PORT      ?= 8080
ROLE      ?= sales
FN        ?= customers
# Node 22 for CDK synthesis and template tests (jsii); installed into the
# cache on first use.
NODE_BIN   = $(shell scripts/node22.sh)

export PORT

.PHONY: run test test-fast token invoke remind reports-rebuild outbox audit-verify build synth bench load check fmt clean

## run: DynamoDB Local + the local gateway on 127.0.0.1:$(PORT)
# exec, so that the SIGTERM make forwards reaches the gateway itself, which
# then stops DynamoDB Local.
run: $(CLI)
	exec $(CLI) run

# The CLI, for this machine.
$(CLI): FORCE
	@$(GO) build -o $@ ./cmd/clientele

## test: every test — unit, DynamoDB Local integration, CDK template tests
test: check $(CLI)
	PATH="$(NODE_BIN):$$PATH" $(CLI) with-dynamodb -- $(GO) test -count=1 ./...

## test-fast: the fast tier, without Java or Node: domain services and
## handlers against in-memory fakes, and every unit test (-short skips the
## DynamoDB Local and CDK template tests, which `make test` runs)
test-fast: check
	$(GO) test -short -count=1 $$($(GO) list ./... | grep -v '/infra')

## check: formatting, vet and module tidiness
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod verify >/dev/null

## token: print a token the local gateway accepts (last line of stdout)
token: $(CLI)
	@$(CLI) token -role "$(ROLE)" -user "$(or $(USER),alice)"

## invoke: run a function's handler on a sample event against the local table
invoke: $(CLI)
	$(CLI) invoke -fn "$(FN)" -event "$(EVENT)"

## remind: run the reminder job once on the local table; NOW=<RFC 3339> runs it as of that instant
remind: $(CLI)
	$(CLI) remind $(if $(NOW),-now "$(NOW)")

## reports-rebuild: recompute every report aggregate from the local tables
reports-rebuild: $(CLI)
	$(CLI) reports rebuild

## outbox: the notifications the local runtime has sent
outbox: $(CLI)
	@$(CLI) outbox

## audit-verify: walk every chain of the audit log, report the first broken link
audit-verify: $(CLI)
	@$(CLI) audit verify

## build: every function as bin/<name>/bootstrap for provided.al2023 on arm64
build: $(addprefix bin/,$(addsuffix /bootstrap,$(FUNCTIONS)))
	@ls -l $^

bin/%/bootstrap: FORCE
	@test -f functions/$*/main.go
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o $@ ./functions/$*

FORCE:

## synth: the CloudFormation template in cdk.out, offline, no AWS account
synth: build
	PATH="$(NODE_BIN):$$PATH" CDK_OUTDIR=cdk.out $(GO) run ./infra/cmd/app
	@echo "template: cdk.out/Clientele.template.json"

## bench: benchmarks against DynamoDB Local; report in docs/benchmarks.md
bench: build $(CLI)
	scripts/bench.sh docs/bench-output.txt

## load: the load run (mixes at 1-128 clients, then the fault scenarios),
## against a DynamoDB Local and gateway of its own; raw output in
## docs/load-output.md and docs/load-faults.md, summary in docs/benchmarks.md
load: $(CLI)
	$(CLI) load -o docs/load-output.md
	$(CLI) load -faults -o docs/load-faults.md

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin cdk.out
