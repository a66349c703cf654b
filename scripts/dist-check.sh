#!/usr/bin/env bash
# make dist-check: proves that the committed dist/ binaries are exactly what
# scripts/dist.sh builds from the commit named in dist/SOURCE. It rebuilds all
# targets in a temporary `git worktree` of that commit (with that commit's own
# dist.sh) and fails, naming the file, if a single byte differs, if dist/ holds
# a file SHA256SUMS does not list, or if SHA256SUMS lists a file that is missing.
#
#   scripts/dist-check.sh [DIR]     DIR defaults to dist/
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-dist}
fail() { echo "dist-check: FAIL: $*" >&2; exit 1; }

[ -f "$dir/SOURCE" ] || fail "$dir/SOURCE is missing: run 'make dist' from a clean, committed tree (see RELEASING.md)"
[ -f "$dir/SHA256SUMS" ] || fail "$dir/SHA256SUMS is missing: run 'make dist'"
source_commit=$(tr -d '[:space:]' <"$dir/SOURCE")
[[ $source_commit =~ ^[0-9a-f]{40}$ ]] ||
  fail "$dir/SOURCE says '$source_commit', not a 40-hex commit (a '-dirty' build is test-only and never committed)"
git cat-file -e "$source_commit^{commit}" 2>/dev/null ||
  fail "$dir/SOURCE names $source_commit, which is not a commit of this repository (shallow clone? fetch it)"

# Every file in DIR is either SOURCE, SHA256SUMS or listed in SHA256SUMS.
listed=$(awk '{ sub(/^\*/, "", $2); print $2 }' "$dir/SHA256SUMS" | sort)
for f in "$dir"/* "$dir"/.[!.]*; do
  [ -e "$f" ] || continue
  name=${f##*/}
  case $name in SOURCE | SHA256SUMS) continue ;; esac
  grep -qxF "$name" <<<"$listed" || fail "$dir/$name is not listed in $dir/SHA256SUMS"
done
while read -r name; do
  [ -f "$dir/$name" ] || fail "$dir/SHA256SUMS lists $name, which is not in $dir/"
done <<<"$listed"
(cd "$dir" && sha256sum --check --strict --quiet SHA256SUMS) ||
  fail "a file in $dir/ does not match $dir/SHA256SUMS (named above)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attest-publish-dist-check.XXXXXX")
cleanup() { git worktree remove --force "$tmp/src" >/dev/null 2>&1 || true; rm -rf "$tmp"; git worktree prune; }
trap cleanup EXIT
git worktree add --quiet --detach "$tmp/src" "$source_commit"
[ -x "$tmp/src/scripts/dist.sh" ] || fail "commit $source_commit has no scripts/dist.sh"
targets=()
while read -r name; do
  t=${name#attest-publish-}; targets+=("${t%.exe}")
done <<<"$listed"
echo "dist-check: rebuilding ${targets[*]} from $source_commit in a temporary worktree"
start=$(date +%s)
(cd "$tmp/src" && ./scripts/dist.sh -o "$tmp/out" "${targets[@]}" >"$tmp/build.log" 2>&1) ||
  { cat "$tmp/build.log" >&2; fail "the rebuild from $source_commit failed"; }

status=0
while read -r name; do
  if ! cmp -s "$dir/$name" "$tmp/out/$name"; then
    echo "dist-check: FAIL: $dir/$name differs from the rebuild of $source_commit:" >&2
    echo "  committed: $(sha256sum <"$dir/$name" | cut -d' ' -f1)" >&2
    echo "  rebuilt:   $(sha256sum <"$tmp/out/$name" | cut -d' ' -f1)" >&2
    status=1
  fi
done <<<"$listed"
cmp -s "$dir/SHA256SUMS" "$tmp/out/SHA256SUMS" || { echo "dist-check: FAIL: $dir/SHA256SUMS differs from the rebuilt one" >&2; status=1; }
[ $status -eq 0 ] || exit 1
behind=$(git rev-list --count "$source_commit..HEAD" 2>/dev/null || echo "?")
echo "dist-check: ok: $(wc -l <<<"$listed") binaries in $dir/ are byte-identical to a rebuild of $source_commit ($(($(date +%s) - start)) s; HEAD is $behind commit(s) past it)"
