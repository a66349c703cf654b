#!/usr/bin/env bash
# Start-up cost of the action: from the composite step's start to the binary
# doing work. Runs action.yml's own run: script (taken from the file, so it is
# what users run: platform selection, SHA256SUMS lookup, sha256 of the ~20 MB
# binary) with its last line `exec "$bin" action` turned into
# `exec "$bin" version`, as GitHub runs a bash step (bash --noprofile --norc
# -eo pipefail FILE), many times; reports the median. Also measures the two
# parts alone: the bare binary, and the bare sha256 of it.
#
#   bench/startup.sh [RUNS]          (default 200; figures in bench/out/startup.*)
#
# Uses hyperfine when installed (apt-get install hyperfine), else a loop timed
# with date +%s%N.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
runs=${1:-200}
out=bench/out
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/attest-publish-startup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The action directory: dist/ with the linux-amd64 binary of this tree and its
# SHA256SUMS line, built with the dist script's flags.
ATTEST_DIST_ALLOW_DIRTY=1 ./scripts/dist.sh -o "$tmp/action/dist" linux-amd64 >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; exit 1; }
bin=$tmp/action/dist/attest-publish-linux-amd64

go build -o "$tmp/actionmeta" ./test/acttest/cmd/actionmeta
"$tmp/actionmeta" script action.yml >"$tmp/step.sh"
# shellcheck disable=SC2016 # literal $bin: the line of the step script
grep -q '^exec "\$bin" action$' "$tmp/step.sh" ||
  { echo "startup: action.yml's run script no longer ends in 'exec \"\$bin\" action'; update bench/startup.sh" >&2; exit 1; }
# shellcheck disable=SC2016
sed -i 's/^exec "\$bin" action$/exec "$bin" version/' "$tmp/step.sh"
export AP_ACTION_PATH=$tmp/action/ AP_RUNNER_OS=Linux AP_RUNNER_ARCH=X64
step=(bash --noprofile --norc -eo pipefail "$tmp/step.sh")
"${step[@]}" | tee "$tmp/once.txt"
if ! grep -q 'matches dist/SHA256SUMS' "$tmp/once.txt" || ! grep -q '^attest-publish ' "$tmp/once.txt"; then
  echo "startup: the step did not check and run the binary" >&2; exit 1
fi

size=$(stat -c %s "$bin")
host="$(nproc) cores, $(uname -sm), load $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v hyperfine >/dev/null; then
  hyperfine -N --style basic --warmup 10 --runs "$runs" --export-json "$out/startup.json" \
    -n "action step (select + sha256 check + binary version)" "bash --noprofile --norc -eo pipefail $tmp/step.sh" \
    -n "binary alone (version)" "$bin version" \
    -n "sha256sum of the binary alone" "sha256sum $bin" | tee "$out/startup.txt"
  python3 - "$out/startup.json" "$size" "$host" "$runs" <<'PY' | tee "$out/startup.md"
import json, sys
res = json.load(open(sys.argv[1]))["results"]
size, host, runs = int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"Start-up, {runs} runs each (hyperfine), binary {size / 2**20:.1f} MiB, {host}:\n")
print("| | median | mean ± sd | min | max |\n|---|---|---|---|---|")
for r in res:
    ms = lambda v: f"{v * 1000:.1f} ms"
    print(f"| {r['command']} | **{ms(r['median'])}** | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
else
  measure() { # name, command...: per-run wall times in ms, sorted
    local name=$1; shift
    for ((i = 0; i < runs; i++)); do
      s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000))
    done | sort -n >"$tmp/$name.us"
    awk -v n="$name" '{ v[NR] = $1 } END { printf "| %s | **%.1f ms** | %.1f ms | %.1f ms |\n", n, v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000 }' "$tmp/$name.us"
  }
  {
    echo "Start-up, $runs runs each (shell loop), binary $((size / 1048576)) MiB, $host:"
    echo
    echo "| | median | min | max |"
    echo "|---|---|---|---|"
    measure "action step (select + sha256 check + binary version)" "${step[@]}"
    measure "binary alone (version)" "$bin" version
    measure "sha256sum of the binary alone" sha256sum "$bin"
  } | tee "$out/startup.md"
fi
echo "startup: figures in $out/startup.md"
