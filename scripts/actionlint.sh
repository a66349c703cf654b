#!/usr/bin/env bash
# actionlint (v1.7.12, with shellcheck) over every workflow and example, and
# over the action itself from both sides:
#   1. .github/workflows/*.yml and examples/**/*.yml;
#   2. action.yml's contract: every input mapped into the run step's env as
#      AP_INPUT_<NAME>: ${{ inputs.<name> }}, no nested uses:, a shell: on
#      every run step (test/acttest/cmd/actionmeta check);
#   3. a generated caller workflow that passes EVERY input of action.yml and
#      reads every output through `uses: ./` (actionlint checks a local
#      action's metadata from the caller's side: unknown/missing inputs,
#      unknown outputs, runs.using);
#   4. action.yml's composite steps wrapped into a synthetic workflow job
#      (actionlint does not lint action.yml itself; see
#      ../shared/docs/actions-harness.md §2), so expressions, inputs.* names
#      and the shell script get checked.
# Installs actionlint into .cache/bin on first use; shellcheck comes from
# `make deps` (apt). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
bin=$(mkdir -p "${CACHE:-.cache}/bin" && cd "${CACHE:-.cache}/bin" && pwd)
actionlint=$bin/actionlint
if [ ! -x "$actionlint" ] || [ "$("$actionlint" -version | head -1)" != "$ACTIONLINT_VERSION" ]; then
  echo "installing actionlint $ACTIONLINT_VERSION into $bin"
  GOBIN=$bin go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
command -v shellcheck >/dev/null ||
  { echo "actionlint: shellcheck is missing (actionlint would silently skip shell checks): run 'make deps' or 'apt-get install shellcheck'" >&2; exit 1; }
lint() { "$actionlint" -no-color -oneline -shellcheck="$(command -v shellcheck)" "$@"; }

status=0
mapfile -t workflows < <(ls .github/workflows/*.y*ml 2>/dev/null; find examples -path '*/.github/workflows/*' -name '*.y*ml' 2>/dev/null | sort)
[ ${#workflows[@]} -gt 0 ] || { echo "actionlint: no workflows found" >&2; exit 1; }
echo "actionlint: ${#workflows[@]} workflow(s): ${workflows[*]}"
lint "${workflows[@]}" || status=1

# ACTIONLINT_ACTION_YML (test-only) lints another copy of the metadata.
action=${ACTIONLINT_ACTION_YML:-action.yml}
[ -f "$action" ] || { echo "actionlint: $action is missing" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/attest-publish-actionlint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/actionmeta" ./test/acttest/cmd/actionmeta
"$tmp/actionmeta" check "$action" || status=1

# actionlint resolves `uses: ./` against the project root (the directory with
# .git), so the generated workflows live in a scratch project holding a copy
# of action.yml.
mkdir -p "$tmp/project/.git" "$tmp/project/.github/workflows"
cp "$action" "$tmp/project/action.yml"
"$tmp/actionmeta" caller "$action" >"$tmp/project/.github/workflows/every-input.yml"
"$tmp/actionmeta" composite "$action" >"$tmp/project/.github/workflows/composite-steps.yml"
(cd "$tmp/project" && lint .github/workflows/every-input.yml .github/workflows/composite-steps.yml) || {
  status=1
  echo "actionlint: findings above are in generated files: every-input.yml calls action.yml with every input;"
  echo "  composite-steps.yml is action.yml's runs.steps as a job. Line numbers refer to these:"
  for f in every-input composite-steps; do echo "--- $f.yml"; cat -n "$tmp/project/.github/workflows/$f.yml"; done
}
[ $status -eq 0 ] && echo "actionlint: ok (workflows, examples, action.yml from the caller's side and its composite steps)"
exit $status
