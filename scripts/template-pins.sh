#!/usr/bin/env bash
# Writes the SHA-256 of the linux binaries from a SHA256SUMS file into the
# GitLab component templates (their "want=<hex> ;; # pin: dist/<name>"
# lines), and, with RELEASE_TAG=vX.Y.Z, the release tag into their default
# binary-url. scripts/dist.sh runs it whenever it rebuilds dist/;
# cmd/attest-publish's TestGitLabTemplatePins checks that the templates agree
# with dist/SHA256SUMS.
#
#   scripts/template-pins.sh SHA256SUMS TEMPLATE...
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SHA256SUMS TEMPLATE..." >&2; exit 2; }
sums=$1
shift
for name in attest-publish-linux-amd64 attest-publish-linux-arm64; do
  sum=$(awk -v n="$name" '{ f = $2; sub(/^\*/, "", f) } f == n { print $1; exit }' "$sums")
  if ! [[ $sum =~ ^[0-9a-f]{64}$ ]]; then
    echo "template-pins: $sums has no sha256 for $name" >&2
    exit 1
  fi
  for tpl in "$@"; do
    grep -q "# pin: dist/$name\$" "$tpl" || { echo "template-pins: $tpl has no pin line for $name" >&2; exit 1; }
    sed -i -E "s|want=[0-9a-f]{64} ;; # pin: dist/$name\$|want=$sum ;; # pin: dist/$name|" "$tpl"
  done
done
if [ -n "${RELEASE_TAG:-}" ]; then
  [[ $RELEASE_TAG =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "template-pins: RELEASE_TAG must be vX.Y.Z, got $RELEASE_TAG" >&2; exit 1; }
  for tpl in "$@"; do
    sed -i -E "s|(/attest-publish/attest-publish/)[^/]+(/dist/attest-publish-linux-\{arch\})\$|\1$RELEASE_TAG\2|" "$tpl"
  done
fi
echo "template-pins: $* pin the linux binaries of $sums${RELEASE_TAG:+ (binary-url at $RELEASE_TAG)}"
