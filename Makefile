# rotator: the two commands a new user types are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
SANDBOX_DIR ?= .sandbox
# Integration tests start real servers: allow them time on a 2-core machine.
TEST_TIMEOUT ?= 25m

.PHONY: all build image image-push tools helm test sim unit lint fuzz bench demo sandbox-up sandbox-down vet tidy-check clean

# The tests that start real servers (test/e2e, the sandbox's own, internal/secretsource's Vault
# tests) carry the build tag `integration`: `go test ./...` and `make unit` run every other test,
# with no server and no tool build; `make test` runs them all. A new test file that needs the
# sandbox starts with `//go:build integration` (without it, test/e2e does not compile untagged).
INTEGRATION_TAGS := integration

all: build

# VERSION stamps a release build (make build VERSION=v0.3.0); without it `rotator version` says
# "devel" and the commit Go recorded.
VERSION ?=
build:
	$(GO) build -buildvcs=auto $(if $(VERSION),-ldflags "-X github.com/rotatorhq/rotator/internal/version.version=$(VERSION)") -o $(BIN)/rotator ./cmd/rotator
	$(GO) build -o $(BIN)/rotator-sandbox ./cmd/rotator-sandbox

# The image, built without Docker by hack/image: the binary as the Dockerfile builds it, on an
# empty base, run as nonroot 65532. Same commit and version, same digest (the timestamps are the
# commit's). `make image` writes an OCI layout to bin/image; `make image-push IMAGE=repo` pushes
# $(IMAGE):<version> with the Docker config's credentials (IMAGE_PUSH_FLAGS=--insecure for a
# plain-HTTP registry). <version> is VERSION if given, else the release in the file VERSION, which
# deploy/base's newTag and the chart's appVersion name too (a test holds the three equal).
RELEASE_VERSION := $(shell cat VERSION)
IMAGE_VERSION = $(or $(VERSION),$(RELEASE_VERSION))
IMAGE ?= ghcr.io/rotatorhq/rotator
PLATFORM ?= linux/amd64
IMAGE_PUSH_FLAGS ?=
IMAGE_RUN = SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null)} \
	$(GO) run ./hack/image --version $(IMAGE_VERSION) --platform $(PLATFORM) --revision "$$(git rev-parse HEAD 2>/dev/null)"
image:
	$(IMAGE_RUN) --oci-layout $(BIN)/image
image-push:
	$(IMAGE_RUN) $(IMAGE_PUSH_FLAGS) --push $(IMAGE):$(IMAGE_VERSION)

# Pinned etcd / kube-apiserver / kube-controller-manager / vault, built once into ~/.cache/rotator-tools.
tools:
	@hack/build-tools.sh >/dev/null

# helm (pinned in hack/tools/helm), for the chart's tests, and promrules (hack/tools/promrules,
# Prometheus's rule parser) for the alerts': built only by the targets that need them, so
# `make tools` for the sandbox alone does not wait for them.
helm:
	@hack/build-tools.sh helm promrules >/dev/null

vet:
	$(GO) vet -tags $(INTEGRATION_TAGS) ./...

# golangci-lint v2, pinned in hack/tools/golangci-lint and built once into the tools cache;
# .golangci.yaml says which linters and why each exclusion.
lint:
	@bin=$$(hack/build-tools.sh golangci-lint) && $$bin/golangci-lint run ./...

# go.mod and go.sum are what `go mod tidy` makes of the code (CI fails on a difference, shown).
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result" >&2; exit 1; }

# Unit and integration tests (integration tests run the real sandbox; they never skip), then the
# deterministic simulation of the rotation core, which prints its count of seeds.
test: tools helm vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -tags $(INTEGRATION_TAGS) $$($(GO) list -tags $(INTEGRATION_TAGS) ./... | grep -v '/internal/rotation/sim$$')
	@$(MAKE) --no-print-directory sim

# The simulation alone: 2,000 seeds by default. Replay one: make sim SIM_FLAGS=-sim.seed=N
# (its full trace is printed); more: SIM_FLAGS=-sim.seeds=20000.
SIM_FLAGS ?=
sim:
	@out=$$(mktemp); \
	if $(GO) test -count=1 -v ./internal/rotation/sim/ $(SIM_FLAGS) >$$out 2>&1; then \
		grep -E '^sim:' $$out; case "$(SIM_FLAGS)" in *sim.seed=*) cat $$out;; esac; rm -f $$out; \
	else cat $$out | grep -v '^=== ' | tail -150; rm -f $$out; exit 1; fi

# The fast loop: every test that needs no server (under 30 s with a warm build cache). Test
# results are cached as usual; UNIT_FLAGS=-count=1 runs them all again.
UNIT_FLAGS ?=
# The simulation runs 200 seeds here (2,000 in make test).
unit:
	$(GO) test $(UNIT_FLAGS) $$($(GO) list ./... | grep -v '/internal/rotation/sim$$')
	$(GO) test $(UNIT_FLAGS) ./internal/rotation/sim/ -sim.seeds=200

# Short fuzzing of the parsers of untrusted input; CI keeps it bounded. Each new interesting
# input is minimized for at most FUZZMINIMIZE: the default of 60s showed as a run stuck at
# "0/sec", since minimizing executions are not counted (golang/go#48820).
FUZZTIME ?= 15s
FUZZMINIMIZE ?= 3s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./internal/pullsecret/
	$(GO) test -run='^$$' -fuzz=FuzzConfig -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./internal/config/

# Rotation at scale (300 namespaces, then 2,000 for peak RSS) against the runbook's kubectl loop
# and a writes-only client-go floor, on a sandbox of its own; writes bench/RESULTS.md. It takes
# tens of minutes and is not part of `make test`. E.g. BENCH_FLAGS='-n 100 -rss-n 0 -rounds 1'.
BENCH_FLAGS ?=
bench: tools
	$(GO) run ./bench/cmd/rotatorbench $(BENCH_FLAGS)

# SANDBOX_CLUSTERS=N starts N extra clusters beside the first (fleet members, about 400 MiB each).
SANDBOX_CLUSTERS ?= 0
sandbox-up: tools build
	@$(BIN)/rotator-sandbox up --dir $(SANDBOX_DIR) --clusters $(SANDBOX_CLUSTERS)

sandbox-down:
	@if [ -x $(BIN)/rotator-sandbox ]; then $(BIN)/rotator-sandbox down --dir $(SANDBOX_DIR); \
	else $(GO) run ./cmd/rotator-sandbox down --dir $(SANDBOX_DIR); fi

# The real job on the local sandbox: a full rotation, then what changed in the cluster.
demo: sandbox-up
	@hack/demo.sh $(SANDBOX_DIR)

clean: sandbox-down
	rm -rf $(BIN)
