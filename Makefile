# attest-publish: see README.md. Everything runs on 127.0.0.1 only.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(CURDIR)/.cache
STACK_DIR ?= $(CURDIR)/.stack
VENV ?= $(CACHE)/venv
BIN ?= $(CACHE)/bin
STATICCHECK_VERSION ?= v0.8.2
ACTIONLINT_VERSION ?= v1.7.12
ACT_VERSION ?= v0.2.89
# zizmor, the judge beside `attest-publish audit` (internal/audit/zizmor_test.go
# pins the same version in zizmorVersion: change both together).
ZIZMOR_VERSION ?= 1.32.0
ZIZMOR_VENV ?= $(CACHE)/zizmor-venv
CONFORMANCE_SUITE ?= $(CURDIR)/../shared/conformance
CONFORMANCE_VENV ?= $(CACHE)/conformance-venv
CONFORMANCE_PYTHON ?= python3
FUZZTIME ?= 10m
VERSION ?= $(shell git describe --tags --always 2>/dev/null || echo dev)
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION)
export GOTOOLCHAIN := auto
export CACHE STATICCHECK_VERSION ACTIONLINT_VERSION

.PHONY: all help build test unit lint gitlab-lint e2e e2e-gitlab demo-gitlab deps venv zizmor-venv stack stack-down demo bench clean dist dist-check actionlint act-tools conformance conformance-suite conformance-venv fuzz

all: build

## build: the attest-publish binary (static, reproducible flags) into .cache/bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)' -o $(BIN)/attest-publish ./cmd/attest-publish

## test: everything: lint, unit tests, then the end-to-end tests against the local stack
test:
	./scripts/test.sh

## e2e: the end-to-end tests, the action under act and the GitLab components under gitlab-ci-local, against the local stack (started when it is not up)
e2e: deps act-tools
	source scripts/stackenv.sh && \
	$(GO) test -count=1 -tags stack ./test/localstack/ && \
	ATTEST_STACK_DIR=$$STACK_DIR ATTEST_VENV=$(VENV) $(GO) test -count=1 -timeout 30m -tags e2e ./test/e2e/ ./test/acttest/ ./test/gitlabci/

## e2e-gitlab: only examples/.gitlab-ci.yml with templates/ under gitlab-ci-local (test/gitlabci), against the local stack
e2e-gitlab: deps
	source scripts/stackenv.sh && \
	ATTEST_STACK_DIR=$$STACK_DIR ATTEST_VENV=$(VENV) $(GO) test -count=1 -timeout 15m -tags e2e -v ./test/gitlabci/

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## unit: Go unit tests only (in-process fakes, no stack)
unit: zizmor-venv
	$(GO) test -race -count=1 ./...

## fuzz: every Go fuzz target (found automatically), one at a time for FUZZTIME each (default 10m), then a summary table; fails on a crasher, which stays in testdata/fuzz as a regression test (scripts/fuzz.sh; FUZZPARALLEL, FUZZTARGETS)
fuzz:
	FUZZTIME='$(FUZZTIME)' ./scripts/fuzz.sh

## lint: gofmt, go vet, staticcheck
lint:
	./scripts/lint.sh

## deps: system packages and Python tools the stack and the judges need
deps: venv zizmor-venv
	./scripts/deps.sh

## venv: the Python tools used as judges (sigstore, pypi-attestations, build, twine)
venv: $(VENV)/.installed
$(VENV)/.installed: test/judges/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r test/judges/requirements.txt
	touch $@

## zizmor-venv: zizmor (pinned, from PyPI) in .cache/zizmor-venv, which the audit's corpus test runs offline beside the audit
zizmor-venv:
	@if '$(ZIZMOR_VENV)/bin/zizmor' --version 2>/dev/null | grep -qx 'zizmor $(ZIZMOR_VERSION)'; then \
		echo "zizmor-venv: zizmor $(ZIZMOR_VERSION) in $(ZIZMOR_VENV)"; \
	else \
		rm -rf '$(ZIZMOR_VENV)' && python3 -m venv '$(ZIZMOR_VENV)' && \
		'$(ZIZMOR_VENV)/bin/pip' install -q --disable-pip-version-check 'zizmor==$(ZIZMOR_VERSION)' && \
		'$(ZIZMOR_VENV)/bin/zizmor' --version; \
	fi

## stack: build (once) and start the local Sigstore stack in .stack/
stack: deps
	$(GO) run ./test/localstack/cmd/stack up --dir $(STACK_DIR) --cache $(CACHE)/stack

## stack-down: stop every process the stack started
stack-down:
	$(GO) run ./test/localstack/cmd/stack down --dir $(STACK_DIR)

## demo: a whole release against the local stack as a GitHub runner would run it, then the GitLab release (demo-gitlab)
demo: deps build
	./scripts/demo.sh
	./scripts/demo-gitlab.sh

## demo-gitlab: the same release as a GitLab CI job would run it (attest-publish gitlab, GitLab-shaped id_tokens, dotenv report and summaries)
demo-gitlab: deps build
	./scripts/demo-gitlab.sh

## bench: sign vs a cosign loop, publish of a 200 MiB wheel vs twine and uv publish, verify of 1,000 bundles vs cosign and sigstore-python, the action's start-up
bench: deps build
	./bench/sign.sh
	./bench/publish.sh
	./bench/verify.sh
	./bench/startup.sh

## dist: the action's six static binaries, SHA256SUMS and SOURCE, reproducibly (clean tree only; see RELEASING.md)
dist:
	./scripts/dist.sh

## dist-check: rebuild dist/ from dist/SOURCE in a temporary worktree and compare byte for byte
dist-check:
	./scripts/dist-check.sh

## gitlab-lint: GitLab's CI schema (check-jsonschema vendor.gitlab-ci) on examples/.gitlab-ci.yml and both documents of each templates/*.yml
gitlab-lint: deps
	./scripts/gitlab-lint.sh

## actionlint: actionlint + shellcheck on every workflow, example and action.yml (caller side and composite steps)
actionlint:
	./scripts/actionlint.sh

## conformance: the sigstore-conformance verification suite (CONFORMANCE_SUITE, read-only) against conformance/attest-publish-conformance, offline
conformance: conformance-suite build conformance-venv
	@stamp=$$(mktemp) && trap 'rm -f "$$stamp"' EXIT && \
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH='$(CURDIR)/conformance' ATTEST_PUBLISH='$(BIN)/attest-publish' \
	'$(CONFORMANCE_VENV)/bin/pytest' '$(CONFORMANCE_SUITE)/test' \
		-p no:cacheprovider -p attest_publish_offline \
		--entrypoint '$(CURDIR)/conformance/attest-publish-conformance' \
		--skip-signing -m 'not signing' \
		--deselect test/test_bundle.py::test_verify_cpython_release_bundles; \
	status=$$?; written=$$(find '$(CONFORMANCE_SUITE)' -newer "$$stamp" -print); \
	if [ -n "$$written" ]; then echo "make conformance: the run wrote into the suite (read-only):" >&2; echo "$$written" >&2; exit 1; fi; \
	exit $$status

conformance-suite:
	@test -f '$(CONFORMANCE_SUITE)/test/conftest.py' && test -f '$(CONFORMANCE_SUITE)/requirements.txt' || \
		{ echo "make conformance: no sigstore-conformance suite at $(CONFORMANCE_SUITE) (set CONFORMANCE_SUITE=DIR)" >&2; exit 1; }

## conformance-venv: the suite's pinned Python requirements (--require-hashes) in .cache/conformance-venv
conformance-venv: conformance-suite
	@if [ -f '$(CONFORMANCE_VENV)/.installed' ] && cmp -s '$(CONFORMANCE_SUITE)/requirements.txt' '$(CONFORMANCE_VENV)/.installed'; then \
		echo "conformance-venv: $(CONFORMANCE_VENV) is up to date"; \
	else \
		rm -rf '$(CONFORMANCE_VENV)' && $(CONFORMANCE_PYTHON) -m venv '$(CONFORMANCE_VENV)' && \
		'$(CONFORMANCE_VENV)/bin/pip' install -q --disable-pip-version-check --require-hashes -r '$(CONFORMANCE_SUITE)/requirements.txt' && \
		cp '$(CONFORMANCE_SUITE)/requirements.txt' '$(CONFORMANCE_VENV)/.installed'; \
	fi

## act-tools: act and actionlint (pinned) into .cache/bin, for the act harness (test/acttest) and actionlint
act-tools:
	@$(BIN)/act --version 2>/dev/null | grep -qx 'act version $(ACT_VERSION:v%=%)' || \
		GOBIN=$(BIN) $(GO) install github.com/nektos/act@$(ACT_VERSION)
	@$(BIN)/actionlint -version 2>/dev/null | head -1 | grep -qx '$(ACTIONLINT_VERSION)' || \
		GOBIN=$(BIN) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	@echo "act-tools: $$($(BIN)/act --version), actionlint $$($(BIN)/actionlint -version | head -1) in $(BIN)"

clean:
	-$(GO) run ./test/localstack/cmd/stack down --dir $(STACK_DIR)
	rm -rf .demo bench/out test/artifacts
