# co2-calculator — run `make` for the list of targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Settings from .env (see .env.example) reach every command below.
ifneq (,$(wildcard .env))
include .env
export $(shell sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' .env)
endif

BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)
# What make writes besides the tools: the coverage report of make test.
BUILD := $(CURDIR)/build

# Every developer tool is pinned: the tools/pinned/go.mod `tool` directives
# (buf, protoc plugins, sqlc, goose, gotestsum) and the versions below. That
# module stays out of go.work: its dependencies would raise the versions the
# services are tested with above those their images are built with.
GOLANGCI_LINT_VERSION := v2.15.0
TOOLS := github.com/bufbuild/buf/cmd/buf \
	google.golang.org/protobuf/cmd/protoc-gen-go \
	connectrpc.com/connect/cmd/protoc-gen-connect-go \
	github.com/sudorandom/protoc-gen-connect-openapi \
	github.com/sqlc-dev/sqlc/cmd/sqlc \
	github.com/pressly/goose/v3/cmd/goose \
	gotest.tools/gotestsum

# Modules of the workspace and the services with sqlc queries.
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
SQLC_SERVICES := $(patsubst services/%/sqlc.yaml,%,$(wildcard services/*/sqlc.yaml))
MIGRATED_SERVICES := $(patsubst migrations/%/,%,$(dir $(wildcard migrations/*/*.sql)))

# PostgreSQL and Redis: DB_URL / REDIS_URL when they answer, else the
# machine's 127.0.0.1:5432 / :6379, else project-local servers.
DEVSTACK_ENV = eval "$$(go run ./tools/devstack env)"
# The same, with DB_URL naming the system's own database (as under make run).
DEVSTACK_APP_ENV = eval "$$(go run ./tools/devstack app-env)"

.PHONY: help
help: ## Show this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: $(BIN)/.tools-stamp ## Download modules and build the pinned tools into .bin/
	@# What the workspace's packages and tests import (go mod download would
	@# also fetch modules no build needs, which a proxy may no longer serve).
	go list -deps -test $(patsubst %,%/...,$(shell sed -n 's|^[[:space:]]*\(\./[a-z/]*\)$$|\1|p' go.work)) > /dev/null
	@# The PromQL parser the chart's tests run (a module outside go.work).
	cd tools/promql && GOWORK=off go list -deps . > /dev/null

$(BIN)/.tools-stamp: tools/pinned/go.mod tools/pinned/go.sum
	@mkdir -p $(BIN)
	cd tools/pinned && GOWORK=off go build -o $(BIN)/ $(TOOLS)
	@touch $@

HELM_VERSION := v3.22.0
# The ldflags tell helm which Kubernetes it renders for (otherwise 1.20).
$(BIN)/helm:
	GOBIN=$(BIN) go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37 \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37" \
		helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(BIN)/golangci-lint:
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: generate
generate: $(BIN)/.tools-stamp ## Regenerate everything generated: protobuf/Connect Go, OpenAPI, sqlc, docs assets
	buf generate
	@for service in $(SQLC_SERVICES); do (cd services/$$service && sqlc generate) || exit 1; done
	tools/docsassets/fetch.sh
	tools/airports/fetch.sh
	go run ./tools/gridfactors

.PHONY: modules-sync
modules-sync: ## Align every module's go.mod with the workspace's versions (what the images build = what the tests use)
	go work sync
	@for module in $(MODULES); do (cd $$module && GOWORK=off go mod tidy) || exit 1; done

.PHONY: check-generated
check-generated: generate ## Fail when the committed generated code differs from `make generate`
	@if [ -n "$$(git status --porcelain -- proto services migrations)" ]; then \
		git status --porcelain -- proto services migrations; git --no-pager diff --stat; \
		echo "generated code is stale: run make generate and commit the result" >&2; exit 1; fi

.PHONY: run
run: ## Run the whole system on this machine (Ctrl-C stops it); TRACES=1 adds a trace viewer (Jaeger) every span goes to
	go run ./tools/devstack run

.PHONY: test
test: $(BIN)/.tools-stamp $(BIN)/helm ## Run every module's tests against real PostgreSQL and Redis; coverage in build/coverage.html
	go vet $(addsuffix /...,$(MODULES))
	@mkdir -p $(BUILD)
	@# Coverage counts the services' code reached by any test of the
	@# workspace (the end-to-end suite runs real binaries: not counted).
	@# The end-to-end suite takes about six minutes alone; on a machine busy
	@# with other work it has needed more than go test's default ten.
	$(DEVSTACK_ENV) && gotestsum --format pkgname-and-test-fails -- -count=1 -timeout=30m \
		-coverpkg=github.com/co2-calculator/co2-calculator/services/... -coverprofile=$(BUILD)/coverage.out \
		$(addsuffix /...,$(MODULES))
	@$(MAKE) --no-print-directory cover

.PHONY: cover
cover: ## Write build/coverage.html from the profile make test wrote, and print the services' total
	go tool cover -html=$(BUILD)/coverage.out -o $(BUILD)/coverage.html
	@go tool cover -func=$(BUILD)/coverage.out | tail -1
	@echo "coverage report: $(BUILD)/coverage.html"

.PHONY: lint
lint: $(BIN)/.tools-stamp $(BIN)/golangci-lint ## golangci-lint on every module, the layer rules (ADR 016), buf lint on proto/
	golangci-lint run $(addsuffix /...,$(MODULES))
	go run ./tools/layers
	buf lint

.PHONY: breaking
breaking: $(BIN)/.tools-stamp ## Check proto/ against main for breaking changes
	buf breaking --against '.git#branch=main'

.PHONY: format
format: $(BIN)/.tools-stamp $(BIN)/golangci-lint ## Format Go and proto sources
	golangci-lint fmt $(addsuffix /...,$(MODULES))
	buf format -w

.PHONY: db-migrate
db-migrate: ## Apply pending migrations (all services, or service=NAME)
	$(DEVSTACK_APP_ENV) && \
	for service in $(or $(service),$(MIGRATED_SERVICES)); do go run ./services/$$service/cmd/$$service migrate up || exit 1; done

.PHONY: db-downgrade
db-downgrade: ## Roll back the last migration of service=NAME
	@test -n "$(service)" || (echo "usage: make db-downgrade service=labs" >&2; exit 2)
	$(DEVSTACK_APP_ENV) && go run ./services/$(service)/cmd/$(service) migrate down

.PHONY: db-status
db-status: ## Show the migrations of every service and whether they are applied
	$(DEVSTACK_APP_ENV) && \
	for service in $(MIGRATED_SERVICES); do go run ./services/$$service/cmd/$$service migrate status || exit 1; done

.PHONY: db-revision
db-revision: $(BIN)/.tools-stamp ## New migration: make db-revision service=labs message="add x"
	@test -n "$(service)" -a -n "$(message)" || (echo 'usage: make db-revision service=labs message="add x"' >&2; exit 2)
	goose -s -dir migrations/$(service) create "$$(echo '$(message)' | tr ' A-Z' '_a-z')" sql

# Backups of the database make run uses (DB_URL when set), with the
# pg_dump/pg_restore of the server's major version (docs/operations.md).
.PHONY: backup
backup: ## Back up the system's database (every schema) to file=PATH, by default backups/co2-<UTC time>.dump
	@file="$(or $(file),backups/co2-$$(date -u +%Y%m%dT%H%M%SZ).dump)" && mkdir -p "$$(dirname "$$file")" && \
	$(DEVSTACK_APP_ENV) && go run ./tools/backup/cmd/backup create -file "$$file"

.PHONY: restore
restore: ## Restore file=PATH into the system's database (stop make run first; replace=1 when it holds data)
	@test -n "$(file)" || (echo "usage: make restore file=backups/co2-....dump [replace=1]" >&2; exit 2)
	@# A DB_URL given may name a database still to be made: the restore makes it.
	$(if $(DB_URL),,$(DEVSTACK_APP_ENV) &&) go run ./tools/backup/cmd/backup restore -file "$(file)" $(if $(replace),-replace)

.PHONY: bench-import
bench-import: ## Import benchmark: make bench-import ROWS=1000000 (upload to FINISHED vs a plain COPY, peak RSS)
	$(DEVSTACK_ENV) && go run ./tools/bench import -rows $(or $(ROWS),1000000)

.PHONY: bench-report
bench-report: ## Report latency: a lab with 10k emissions and one with 1M (LARGER=10000000: and one with 10M), p50/p99 side by side
	$(DEVSTACK_ENV) && go run ./tools/bench report -small $(or $(SMALL),10000) -large $(or $(LARGE),1000000) -larger $(or $(LARGER),0)

# The images: one per service, built from each module alone (GOWORK=off)
# by tools/images into OCI archives in .k8s/images; no registry or engine.
IMAGE_REPOSITORY ?= localhost/co2-calculator
.PHONY: images
images: ## Build the services' images (.k8s/images): TAG=..., LOAD=podman|docker|containerd, PUSH=1 (REPOSITORY names the registry)
	go run ./tools/images -repository $(or $(REPOSITORY),$(IMAGE_REPOSITORY)) $(if $(TAG),-tag $(TAG)) \
		$(if $(LOAD),-load $(LOAD)) $(if $(PUSH),-push) $(NAMES)

# The test node of make test-k8s (tools/k8s/node): Kubernetes built from
# pinned modules (tools/k8s/*/go.mod) into .k8s/bin, once; Debian's
# containerd and runc. .k8s is the whole build cache: delete it for a cold
# run.
K8S_DIR := $(CURDIR)/.k8s
K8S_BIN := $(K8S_DIR)/bin
export K8S_DIR K8S_BIN
K8S_LDFLAGS := -X k8s.io/component-base/version.gitVersion=v1.34.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34
SKAFFOLD_VERSION := v2.16.1
$(K8S_BIN)/.kubernetes: tools/k8s/kas/go.mod tools/k8s/kas/go.sum
	@mkdir -p $(K8S_BIN)
	cd tools/k8s/kas && GOWORK=off go build -ldflags "$(K8S_LDFLAGS)" -o $(K8S_BIN)/ \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
		k8s.io/kubernetes/cmd/kubectl
	@touch $@
$(K8S_BIN)/etcd: tools/k8s/etcd/go.mod tools/k8s/etcd/go.sum
	@mkdir -p $(K8S_BIN)
	cd tools/k8s/etcd && GOWORK=off go build -o $@ go.etcd.io/etcd/server/v3
$(K8S_BIN)/skaffold: tools/k8s/skaffold/go.mod tools/k8s/skaffold/go.sum
	@mkdir -p $(K8S_BIN)
	cd tools/k8s/skaffold && GOWORK=off go build -o $@ \
		-ldflags "-X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$(SKAFFOLD_VERSION)" \
		github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold

# The registry skaffold pushes to on the test node (crane's).
CRANE_VERSION := v0.22.1
$(K8S_BIN)/crane:
	GOBIN=$(K8S_BIN) go install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)

.PHONY: k8s-tools
k8s-tools: $(K8S_BIN)/.kubernetes $(K8S_BIN)/etcd $(K8S_BIN)/skaffold $(K8S_BIN)/crane $(BIN)/helm ## Build the test node's Kubernetes, skaffold, crane and helm (once)

.PHONY: test-k8s
test-k8s: $(K8S_BIN)/.kubernetes $(K8S_BIN)/etcd $(K8S_BIN)/skaffold $(BIN)/helm ## Build the images, install the chart on a real one-node cluster, check it (needs root)
	tools/k8s/test-k8s.sh

.PHONY: k8s-up
k8s-up: k8s-tools ## Start the test node for skaffold (skaffold dev -p node ...; needs root); make k8s-down stops it
	tools/k8s/k8s-up.sh

.PHONY: k8s-down
k8s-down: ## Stop the test node of make k8s-up
	tools/k8s/node/down.sh

.PHONY: test-skaffold
test-skaffold: k8s-tools ## skaffold run, then skaffold dev with a change, against the test node; the smoke test each time
	tools/k8s/test-skaffold.sh

.PHONY: docker-up
docker-up: ## The whole system in containers (podman-compose; COMPOSE="docker compose" for Docker): gateway on http://localhost:8000
	tools/compose/up.sh

.PHONY: docker-smoke
docker-smoke: ## The smoke test through make docker-up's gateway (a token from its Dex, a lab, an import, its report)
	go run ./tools/smoke check -gateway http://127.0.0.1:$(or $(GATEWAY_PORT),8000) \
		-token-url http://127.0.0.1:$(or $(DEX_PORT),5556)/dex/token -username admin@example.com -password password

.PHONY: docker-down
docker-down: ## Stop the containers (volumes kept; make docker-down VOLUMES=1 drops them)
	tools/compose/down.sh

.PHONY: token
token: ## Print an access token for a dev user of make run: make token user=admin|auditor|manager|member|outsider
	@go run ./tools/devstack token $(or $(user),admin)

.PHONY: co2
co2: ## Build the command-line client into .bin/co2 (or: go install ./tools/co2); see docs/cli.md
	go build -o $(BIN)/co2 ./tools/co2
	@echo "built $(BIN)/co2: try $(BIN)/co2 login"

.PHONY: docscheck
docscheck: ## Check /docs in headless Chromium against make run: Authorize with a dev token, then Try it out (gateway=URL token=...)
	@go run ./tools/docscheck -gateway $(or $(gateway),http://127.0.0.1:8000) -token "$(or $(token),$$(go run ./tools/devstack token admin))"

.PHONY: stop
stop: ## Stop the project-local PostgreSQL and Redis (if make run or make test started them)
	go run ./tools/devstack stop
