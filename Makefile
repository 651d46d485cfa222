# rotator: the two commands a new user types are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
SANDBOX_DIR ?= .sandbox
# Integration tests start real servers: allow them time on a 2-core machine.
TEST_TIMEOUT ?= 25m

.PHONY: all build tools test unit fuzz bench demo sandbox-up sandbox-down vet clean

all: build

build:
	$(GO) build -o $(BIN)/rotator ./cmd/rotator
	$(GO) build -o $(BIN)/rotator-sandbox ./cmd/rotator-sandbox

# Pinned etcd / kube-apiserver / kube-controller-manager / vault, built once into ~/.cache/rotator-tools.
tools:
	@hack/build-tools.sh >/dev/null

vet:
	$(GO) vet ./...

# Unit and integration tests (integration tests run the real sandbox; they never skip).
test: tools vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

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

sandbox-up: tools build
	@$(BIN)/rotator-sandbox up --dir $(SANDBOX_DIR)

sandbox-down:
	@if [ -x $(BIN)/rotator-sandbox ]; then $(BIN)/rotator-sandbox down --dir $(SANDBOX_DIR); \
	else $(GO) run ./cmd/rotator-sandbox down --dir $(SANDBOX_DIR); fi

# The real job on the local sandbox: a full rotation, then what changed in the cluster.
demo: sandbox-up
	@hack/demo.sh $(SANDBOX_DIR)

clean: sandbox-down
	rm -rf $(BIN)
