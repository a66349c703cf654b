#!/usr/bin/env bash
# gofmt, go vet and staticcheck over the whole module.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files -o --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go vet -tags e2e,stack ./...
bin=${CACHE:-.cache}/bin
if [ ! -x "$bin/staticcheck" ]; then
  mkdir -p "$bin"
  GOBIN="$(cd "$bin" && pwd)" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION:-v0.8.2}"
fi
"$bin/staticcheck" ./...
"$bin/staticcheck" -tags e2e,stack ./...
echo "lint: ok"
