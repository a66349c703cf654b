#!/usr/bin/env bash
# make test: lint, unit tests, actionlint, the dist/ rebuild check, then
# end-to-end tests against the real local Sigstore stack and index (judged by
# cosign, sigstore-python, pypi-attestations, pip), the action under act and
# the GitLab components under gitlab-ci-local.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
step() { printf '\n== %s\n' "$*"; }

step "lint (gofmt, go vet, staticcheck)"
./scripts/lint.sh

step "zizmor for the audit's corpus comparison (internal/audit/zizmor_test.go)"
make --no-print-directory zizmor-venv

step "unit tests (race detector on)"
go test -race -count=1 ./...

step "fuzz targets, 3 s each on their seed corpus (make fuzz runs them for 10 min)"
FUZZTIME=3s ./scripts/fuzz.sh

step "dependencies (MariaDB, Chromium, ShellCheck, Python judges; act and actionlint)"
make --no-print-directory deps act-tools

step "actionlint on workflows, examples and action.yml"
./scripts/actionlint.sh

step "GitLab YAML: GitLab's CI schema on examples/.gitlab-ci.yml and templates/*.yml (check-jsonschema)"
./scripts/gitlab-lint.sh

step "dist/ is byte for byte what its source commit builds"
./scripts/dist-check.sh

step "judges self-test on the shared test vectors"
"$VENV/bin/python" -m pytest -q test/judges

step "test index self-test (pypiserver behind our trusted-publishing front)"
"$VENV/bin/python" -m pytest -q test/indexfront

step "local Sigstore stack"
source scripts/stackenv.sh

step "stack smoke test (cosign and sigstore-go against the stack)"
go test -count=1 -tags stack ./test/localstack/

step "end-to-end tests"
ATTEST_STACK_DIR=$STACK_DIR ATTEST_VENV=$VENV go test -count=1 -timeout 20m -tags e2e ./test/e2e/

step "the action under act: release.yml and verify.yml end to end"
ATTEST_STACK_DIR=$STACK_DIR ATTEST_VENV=$VENV go test -count=1 -timeout 15m -tags e2e ./test/acttest/

step "the GitLab components under gitlab-ci-local: examples/.gitlab-ci.yml build, release, verify"
ATTEST_STACK_DIR=$STACK_DIR ATTEST_VENV=$VENV go test -count=1 -timeout 15m -tags e2e ./test/gitlabci/
