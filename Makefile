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

.PHONY: run test test-fast token invoke remind reports-rebuild outbox audit-verify build synth deploy diff bench check fmt clean

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
	  CONTRACT_REPORT="$$report" $(CLI) with-dynamodb -- $(GO) test -count=1 ./... || status=$$?; \
	  awk '{n += $$1} END {print n + 0, "exchanges validated against openapi.json"}' "$$report"; \
	  rm -f "$$report"; exit $$status

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

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin cdk.out
