# videojobs — one Makefile for building, testing and running the bundle.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO            ?= go
FUNCTIONS     := submit webhook watch store jobs
CACHE         := $(CURDIR)/.cache
TOOLS_BIN     := $(CACHE)/bin
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME      ?= 30s
export PATH   := $(TOOLS_BIN):$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## install the local tools the tests and the local stack need (Lambda RIE, moto check)
	@bash scripts/install-tools.sh

.PHONY: build
build: ## build bin/<fn>/bootstrap for every function (linux/arm64, static)
	@for fn in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' \
	    -o bin/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  echo "built bin/$$fn/bootstrap"; \
	done

.PHONY: test
test: tools ## run every test: unit, fuzz seeds, integration against moto + RIE + simulator, infra
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) test-infra

.PHONY: test-infra
test-infra: ## CDK assertion tests for infra/
	cd infra && $(GO) test -count=1 -timeout 15m ./...

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd infra && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s); the corpus found is kept in testdata/
	@bash scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench
bench: tools ## run every benchmark (about 6-10 min on 2 cores) and print the table (BENCHMARKS.md)
	@bash scripts/bench.sh

.PHONY: chaos
chaos: tools ## seeded chaos run: 300 jobs under every simulator fault, killed functions, forged callbacks; prints the ledger
	$(GO) run ./cmd/videojobs-chaos -jobs $(or $(JOBS),300) -seed $(or $(SEED),1)

.PHONY: dev
dev: tools ## start the whole system locally (moto + RIE + simulator + local HTTP API); Ctrl-C stops it
	$(GO) run ./cmd/videojobs-local

.PHONY: demo
demo: tools ## drive a handful of jobs with mixed outcomes and faults through the local stack
	$(GO) run ./cmd/videojobs-demo

CDK_DIR       := infra/_cdkcli
CDK           := $(CDK_DIR)/node_modules/.bin/cdk
CDK_ARGS      ?=

$(CDK): $(CDK_DIR)/package.json $(CDK_DIR)/package-lock.json
	npm ci --prefix $(CDK_DIR) --no-audit --no-fund && touch $(CDK)

.PHONY: synth
synth: build $(CDK) ## synthesize the CDK app (cdk-nag gate on) and lint the template with cfn-lint
	$(CDK) synth --no-notices --quiet $(CDK_ARGS)
	cfn-lint --ignore-checks W3005 -- cdk.out/Videojobs.template.json

.PHONY: deploy
deploy: build $(CDK) ## deploy to the AWS account in your environment (parameters: docs/operations.md)
	$(CDK) deploy --no-notices --require-approval broadening $(CDK_ARGS)

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin cdk.out
