# shellcheck shell=bash
# Sourced by the bench/ scripts (from the repository root, after CACHE is set).
#
#   AP          the attest-publish binary under test (default $CACHE/bin/attest-publish,
#               what `make build` writes; BIN is accepted too when it names a file)
#   RUNS        how many times each side runs, alternately (default 3)
#   STACK_TOOL  the stack tool that bench_stack_up builds (default $CACHE/bin/stack,
#               as scripts/stackenv.sh)
#
# The local Sigstore stack has fixed ports, so only one can run on a machine:
# callers that share the machine serialise with `flock /tmp/attest-stack.lock`.

if [[ -z ${AP:-} ]]; then
  if [[ -n ${BIN:-} && -f ${BIN:-} ]]; then AP=$BIN; else AP=$CACHE/bin/attest-publish; fi
fi
RUNS=${RUNS:-3}
# The load average when the script started, for the report (bench/benchstats.py).
BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_LOAD0
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer, not '$RUNS'" >&2; exit 2; }
[[ -x $AP ]] || { echo "missing $AP: run make build, or set AP" >&2; exit 1; }

# Functions run when the script exits, last registered first.
bench_cleanups=()
bench_on_exit() { bench_cleanups=("$1" "${bench_cleanups[@]}"); }
bench_exit() {
  local f
  for f in "${bench_cleanups[@]}"; do "$f" || true; done
}
trap bench_exit EXIT

# bench_stack_up: what scripts/stackenv.sh does (build the stack tool, start a
# fresh stack in STACK_DIR, stop it when the script exits, source stack.env),
# with the tool's path taken from STACK_TOOL.
bench_stack_up() {
  STACK_DIR=${STACK_DIR:-$PWD/.stack}
  STACK_TOOL=${STACK_TOOL:-$CACHE/bin/stack}
  go build -o "$STACK_TOOL" ./test/localstack/cmd/stack
  "$STACK_TOOL" down --dir "$STACK_DIR" >/dev/null 2>&1 || true
  bench_on_exit bench_stack_down
  "$STACK_TOOL" up --dir "$STACK_DIR" --cache "$CACHE/stack"
  # shellcheck disable=SC1091
  source "$STACK_DIR/stack.env"
  : "${STACK_BIN:?}" "${STACK_SIGNING_CONFIG:?}" "${STACK_TRUSTED_ROOT:?}" "${STACK_OIDC_ISSUER:?}"
}
bench_stack_down() { "$STACK_TOOL" down --dir "$STACK_DIR"; }
