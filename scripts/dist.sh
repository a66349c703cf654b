#!/usr/bin/env bash
# make dist: the action's prebuilt binaries, reproducibly.
#
#   scripts/dist.sh [-o DIR] [TARGET...]      TARGET: linux-amd64 darwin-arm64 ... (default: all six)
#
# Writes DIR/attest-publish-<os>-<arch>[.exe] for linux, darwin and windows on
# amd64 and arm64, DIR/SHA256SUMS (sha256sum format, file names only) and
# DIR/SOURCE (the commit the binaries were built from). DIR defaults to dist/;
# then the GitLab component templates (templates/*.yml) get the linux
# binaries' SHA-256 too (scripts/template-pins.sh; RELEASE_TAG=vX.Y.Z also
# moves their default binary-url to that tag).
#
# The bytes are a function of the source commit only: static (CGO_ENABLED=0),
# -trimpath, -buildvcs=false, fixed ldflags (-s -w -buildid= and a version
# string derived from the commit), the toolchain named by go.mod's toolchain
# line, and every build-relevant Go setting fixed here rather than taken from
# the caller's environment or `go env` file. `make dist-check` rebuilds from
# dist/SOURCE in a clean worktree and compares byte for byte.
#
# It refuses to build from a tree with uncommitted changes (dist/ itself
# excepted), because SOURCE could not name what was built. Tests that need a
# binary of the working tree set ATTEST_DIST_ALLOW_DIRTY=1 (test-only): SOURCE
# then says "<commit>-dirty", which dist-check refuses.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
while getopts "o:" opt; do
  case $opt in
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-o DIR] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
all=(linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64 windows-arm64)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

commit=$(git rev-parse --verify HEAD)
# The GitLab templates' pin lines (and their binary-url tag) are outputs of
# this script, like dist/: changes to those lines alone do not make the tree
# dirty.
template_changes() {
  git diff -U0 HEAD -- templates | grep -E '^[-+][^-+]' | grep -vE '# pin: dist/|/dist/attest-publish-linux-\{arch\}$' || true
}
if [ -n "$(git status --porcelain -- . ':(exclude)dist' ':(exclude)templates')$(template_changes)$(git status --porcelain --untracked-files=all -- templates | grep -vE '^[ M]{2} ' || true)" ]; then
  if [ "${ATTEST_DIST_ALLOW_DIRTY:-}" != 1 ]; then
    echo "dist: the working tree has uncommitted changes (outside dist/):" >&2
    git status --short -- . ':(exclude)dist' | head -20 >&2
    echo "dist: commit them first, so that dist/SOURCE names the source of the binaries" >&2
    exit 1
  fi
  echo "dist: WARNING: building a dirty tree (ATTEST_DIST_ALLOW_DIRTY=1, test-only)" >&2
  source_line="$commit-dirty"
else
  source_line=$commit
fi

# The Go toolchain pinned by go.mod (go1.26.8 → GOTOOLCHAIN=go1.26.8: a different
# local Go downloads exactly that one through the module proxy).
toolchain=$(awk '$1 == "toolchain" { print $2 }' go.mod)
[ -n "$toolchain" ] || { echo "dist: go.mod has no toolchain line" >&2; exit 1; }

# A Go pseudo-version of the source commit: commit time (UTC) and hash, both
# fixed by the commit, so a rebuild from the same commit embeds the same string.
ctime=$(TZ=UTC0 git show -s --format=%cd --date=format-local:%Y%m%d%H%M%S "$commit")
version="v0.0.0-$ctime-${commit:0:12}"
[ "$source_line" = "$commit" ] || version="$version-dirty"

export GOTOOLCHAIN=$toolchain
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false"
export CGO_ENABLED=0 GOAMD64=v1 GOARM64=v8.0 GOEXPERIMENT='' GODEBUG=''
unset GOROOT_FINAL 2>/dev/null || true
ldflags="-s -w -buildid= -X main.version=$version"

mkdir -p "$out"
# Drop everything this script owns from DIR, so no stale binary survives.
rm -f "$out"/attest-publish-* "$out/SHA256SUMS" "$out/SOURCE"
names=()
for t in "${targets[@]}"; do
  goos=${t%-*} goarch=${t#*-}
  case " ${all[*]} " in *" $t "*) ;; *) echo "dist: unknown target $t (one of: ${all[*]})" >&2; exit 2 ;; esac
  name=attest-publish-$t
  [ "$goos" = windows ] && name=$name.exe
  GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out/$name" ./cmd/attest-publish
  names+=("$name")
done
(cd "$out" && sha256sum "${names[@]}" | LC_ALL=C sort -k2 >SHA256SUMS)
echo "$source_line" >"$out/SOURCE"
# dist/ itself (not a test's -o DIR) with both linux binaries: the GitLab
# component templates pin their SHA-256 (RELEASE_TAG=vX.Y.Z also points
# their default binary-url at that tag).
if [ "$out" = dist ] && grep -q ' attest-publish-linux-amd64$' dist/SHA256SUMS && grep -q ' attest-publish-linux-arm64$' dist/SHA256SUMS; then
  ./scripts/template-pins.sh dist/SHA256SUMS templates/release.yml templates/verify.yml
fi
echo "dist: built ${names[*]} from $source_line ($toolchain, version $version) into $out/"
(cd "$out" && cat SHA256SUMS)
