#!/usr/bin/env bash
# gofmt, go vet and staticcheck over the whole module.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files -o --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go vet -tags e2e,stack ./...
bin=${CACHE:-.cache}/bin
# Built with the toolchain go.mod names: a staticcheck built by an older Go
# cannot type-check a module that declares a newer language version, so one
# built by another Go (an older checkout's) is rebuilt.
toolchain=$(awk '$1 == "toolchain" { print $2 }' go.mod)
if [ ! -x "$bin/staticcheck" ] || [ "$(go version "$bin/staticcheck" 2>/dev/null | awk '{ print $2 }')" != "$toolchain" ]; then
  mkdir -p "$bin"
  GOBIN="$(cd "$bin" && pwd)" GOTOOLCHAIN=$toolchain go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION:-v0.8.2}"
fi
"$bin/staticcheck" ./...
"$bin/staticcheck" -tags e2e,stack ./...
echo "lint: ok"
