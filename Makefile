# attest-publish: see README.md. Everything runs on 127.0.0.1 only.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(CURDIR)/.cache
STACK_DIR ?= $(CURDIR)/.stack
VENV ?= $(CACHE)/venv
BIN ?= $(CACHE)/bin
STATICCHECK_VERSION ?= v0.8.2
VERSION ?= $(shell git describe --tags --always 2>/dev/null || echo dev)
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION)
export GOTOOLCHAIN := local
export CACHE STATICCHECK_VERSION

.PHONY: all build test unit lint e2e deps venv stack stack-down demo bench clean

all: build

## build: the attest-publish binary (static, reproducible flags) into .cache/bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)' -o $(BIN)/attest-publish ./cmd/attest-publish

## test: everything: lint, unit tests, then the end-to-end tests against the local stack
test:
	./scripts/test.sh

## unit: Go unit tests only (in-process fakes, no stack)
unit:
	$(GO) test -race -count=1 ./...

## lint: gofmt, go vet, staticcheck
lint:
	./scripts/lint.sh

## deps: system packages and Python tools the stack and the judges need
deps: venv
	./scripts/deps.sh

## venv: the Python tools used as judges (sigstore, pypi-attestations, build, twine)
venv: $(VENV)/.installed
$(VENV)/.installed: test/judges/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r test/judges/requirements.txt
	touch $@

## stack: build (once) and start the local Sigstore stack in .stack/
stack: deps
	$(GO) run ./test/localstack/cmd/stack up --dir $(STACK_DIR) --cache $(CACHE)/stack

## stack-down: stop every process the stack started
stack-down:
	$(GO) run ./test/localstack/cmd/stack down --dir $(STACK_DIR)

## demo: a whole release against the local stack, as a GitHub runner would run it
demo: deps build
	./scripts/demo.sh

## bench: attest-publish sign vs a cosign loop, and publish of a 200 MiB wheel vs twine
bench: deps build
	./bench/sign.sh
	./bench/publish.sh

clean:
	-$(GO) run ./test/localstack/cmd/stack down --dir $(STACK_DIR)
	rm -rf .demo bench/out test/artifacts
