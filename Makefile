# Clientele — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
CLI       := bin/clientele
PORT      ?= 8080
ROLE      ?= sales
FN        ?= customers
# Cold starts per binary for `make coldstart`.
COLDSTART_N ?= 15
STAGE     ?= dev
# The cdk CLI, for deploy and diff; any release that reads the cloud
# assembly schema of the pinned aws-cdk-lib.
CDK_CLI   ?= aws-cdk@2.1031.2
# Node 22 for CDK synthesis and template tests (jsii); installed into the
# cache on first use. A plain assignment in the recipe, not $(shell …), so
# that a failure of the script stops make instead of leaving the machine's
# own Node on PATH.
WITH_NODE  = nodebin="$$(scripts/node22.sh)"; PATH="$$nodebin:$$PATH"

export PORT

.PHONY: run test test-fast fuzz vulncheck deps token invoke remind reports-rebuild outbox audit-verify keys-rotate build synth deploy diff bench load check fmt clean

## run: DynamoDB Local + the local gateway on 127.0.0.1:$(PORT)
# exec, so that the SIGTERM make forwards reaches the gateway itself, which
# then stops DynamoDB Local.
run: $(CLI)
	exec $(CLI) run

# The CLI, for this machine.
$(CLI): FORCE
	@$(GO) build -o $@ ./cmd/clientele

## test: every test — unit, DynamoDB Local integration, CDK template tests;
## ends with the number of exchanges checked against openapi.json
test: check $(CLI)
	$(WITH_NODE); report="$$(mktemp)"; status=0; \
	  CONTRACT_REPORT="$$report" $(CLI) with-dynamodb -- $(GO) test -count=1 -timeout 30m ./... || status=$$?; \
	  awk '{n += $$1} END {print n + 0, "exchanges validated against openapi.json"}' "$$report"; \
	  rm -f "$$report"; exit $$status

## test-fast: the fast tier, without Java or Node: domain services and
## handlers against in-memory fakes, and every unit test (-short skips the
## DynamoDB Local and CDK template tests, which `make test` runs); `make
## check` (gofmt, go vet, tidiness) is apart, and so is go test's own vet
## pass, to keep this tier within seconds: linking the test binaries is
## most of its time, and -tags fast leaves out the test files (`//go:build
## !fast`) whose every test needs DynamoDB Local
test-fast:
	$(GO) test -short -tags fast -count=1 -vet=off $$($(GO) list ./... | grep -v '/infra')

## fuzz: every fuzz target for $(FUZZTIME) each (default 30s); their seed
## corpora (testdata/fuzz) already run as ordinary tests in `make test`
FUZZTIME ?= 30s
fuzz:
	@summary=""; failed=0; out=$$(mktemp); \
	for f in $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')); do \
	  dir=./$$(dirname $$f); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    start=$$(date +%s); \
	    if $(GO) test -short -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$dir >$$out 2>&1; then result=ok; \
	    else result=FAILED; failed=1; grep -v '^fuzz: elapsed' $$out; fi; \
	    execs=$$(grep -o 'execs: [0-9]*' $$out | tail -n 1 | cut -d' ' -f2); \
	    line=$$(printf '%-18s %-20s %4ss %10s execs  %s' $$t $$dir $$(( $$(date +%s) - start )) "$${execs:-?}" $$result); \
	    echo "$$line"; summary="$$summary$$line\n"; \
	  done; \
	done; rm -f $$out; \
	printf "\nfuzzed for $(FUZZTIME) each (wall time includes building):\n$$summary"; \
	exit $$failed

# The vulnerability scanner runs at a pinned version without becoming a
# module dependency.
GOVULNCHECK_VERSION ?= v1.9.0
VULNDB ?= https://vuln.go.dev

## vulncheck: known vulnerabilities in the code's call graph (needs the Go
## vulnerability database; not part of `make test`)
vulncheck:
	@if ! curl -fsS -m 10 -o /dev/null "$(VULNDB)/index/db.json.gz" 2>/dev/null; then \
	  echo "vulncheck: the Go vulnerability database ($(VULNDB)) is not reachable from this machine; nothing was checked."; \
	  echo "vulncheck: run 'make vulncheck' where it is, or set VULNDB to a mirror."; \
	  exit 2; \
	fi
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) -db "$(VULNDB)" ./...

## deps: modules with newer versions available (through the module proxy)
# -e: a module whose version list the proxy refuses is reported, not fatal.
deps:
	@$(GO) list -m -u -e -f '{{if not .Main}}{{if .Update}}{{.Path}} {{.Version}} -> {{.Update.Version}}{{if .Indirect}} (indirect){{end}}{{else if .Error}}{{.Path}} {{.Version}}: newer versions could not be listed{{end}}{{end}}' all | grep . || echo "every module is at its newest version"

## check: formatting, vet and module tidiness
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod verify >/dev/null

## token: print a token the local gateway accepts (last line of stdout);
## CLIENT=<id> SCOPES="clientele/complaints.write ..." mints a machine client's
token: $(CLI)
	@$(if $(CLIENT),$(CLI) token -client "$(CLIENT)" -scopes "$(SCOPES)",$(CLI) token -role "$(ROLE)" -user "$(or $(USER),alice)")

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

## keys-rotate: rotate the blind-index key online, after a suspected compromise (resumable; SETTLE=<duration> between phases)
keys-rotate: $(CLI)
	$(CLI) keys rotate $(if $(SETTLE),-settle "$(SETTLE)")

## build: every function as bin/<name>/bootstrap for provided.al2023 on arm64
build: $(addprefix bin/,$(addsuffix /bootstrap,$(FUNCTIONS)))
	@ls -l $^

# Touched after the build: go build leaves an up-to-date binary alone, and
# the CDK app refuses binaries older than the newest source.
bin/%/bootstrap: FORCE
	@test -f functions/$*/main.go
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o $@ ./functions/$*
	@touch $@

FORCE:

## synth: STAGE's CloudFormation template in cdk.out/$(STAGE), offline, no AWS account
# The first run compiles the AWS CDK's Go bindings, which takes minutes: go
# build -v names each package as it is compiled, so the wait shows progress;
# later runs come from the build cache.
synth: build
	@echo "synth: compiling the CDK app (the first time: several minutes; each line is a package done)"
	@$(GO) build -v -o bin/cdk-app ./infra/cmd/app 2>&1 | sed -u 's/^/  compiled /'
	@echo "synth: synthesizing stage $(STAGE) on Node (jsii)"
	@$(WITH_NODE); CDK_OUTDIR=cdk.out/$(STAGE) CDK_CONTEXT_JSON='{"stage":"$(STAGE)"}' bin/cdk-app
	@ls cdk.out/$(STAGE)/*.template.json

## deploy: build, then `cdk deploy` STAGE's stacks (the API's, and its edge if the stage has one; needs AWS credentials)
deploy: build
	$(WITH_NODE); npx --yes $(CDK_CLI) deploy -c stage=$(STAGE) --all

## diff: what `make deploy` would change in STAGE
diff: build
	$(WITH_NODE); npx --yes $(CDK_CLI) diff -c stage=$(STAGE) --all

## bench: benchmarks against DynamoDB Local; report in docs/benchmarks.md
bench: build $(CLI)
	scripts/bench.sh docs/bench-output.txt

## coldstart: cold start of every function against the SDK floor; report in docs/coldstart.md
.PHONY: coldstart
# exec, so that the SIGTERM make forwards reaches the benchmark, which then
# stops DynamoDB Local and the function it is running.
coldstart: bin/coldstart
	exec bin/coldstart -go "$(GO)" -n $(COLDSTART_N) -o docs/coldstart.md

bin/coldstart: FORCE
	@$(GO) build -o $@ ./cmd/coldstart
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
