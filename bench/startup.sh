#!/usr/bin/env bash
# Start-up cost of the action: from the composite step's start to the binary
# doing work. Runs action.yml's own run: script (taken from the file, so it is
# what users run: platform selection, SHA256SUMS lookup, sha256 of the ~20 MB
# binary) with its last line `exec "$bin" action` turned into
# `exec "$bin" version`, as GitHub runs a bash step (bash --noprofile --norc
# -eo pipefail FILE), many times; reports the median and the range (min–max)
# against the 100 ms target. Also measures the parts alone: the bare binary,
# and the sha256 of it by openssl (what the step uses when present) and by
# coreutils sha256sum. The commands run alternately (step, binary, openssl,
# sha256sum, step, ...), after 10 untimed rounds, each timed from bash with
# $EPOCHREALTIME (no extra process per measurement).
#
#   bench/startup.sh [RUNS]          (default 200; figures in bench/out/startup.md)
#
# The binary is the linux-amd64 one that scripts/dist.sh builds from this tree
# (as the action ships it), or AP when set (its SHA256SUMS line is written here).
# Does not use the Sigstore stack. Takes ~40 s once the build is cached.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
runs=${1:-200}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
out=bench/out
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/attest-publish-startup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The action directory: dist/ with the linux-amd64 binary of this tree and its
# SHA256SUMS line, built with the dist script's flags.
bin=$tmp/action/dist/attest-publish-linux-amd64
if [[ -n ${AP:-} ]]; then
  mkdir -p "$tmp/action/dist"; cp "$AP" "$bin"
  (cd "$tmp/action/dist" && sha256sum attest-publish-linux-amd64 >SHA256SUMS)
else
  ATTEST_DIST_ALLOW_DIRTY=1 ./scripts/dist.sh -o "$tmp/action/dist" linux-amd64 >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log"; exit 1; }
fi

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
names=("action step (select + sha256 check + binary version)" "binary alone (version)"
  "openssl dgst -sha256 of the binary alone" "sha256sum of the binary alone")
run() { # command number (index into names)
  case $1 in
    0) "${step[@]}" ;;
    1) "$bin" version ;;
    2) openssl dgst -sha256 -r "$bin" ;;
    3) sha256sum "$bin" ;;
  esac
}
us() { # $EPOCHREALTIME (seconds.microseconds) -> microseconds
  local s=${1%[.,]*} f=${1#*[.,]}
  echo $((10#$s * 1000000 + 10#$f))
}
: >"$tmp/times"
for ((i = -10; i < runs; i++)); do
  for c in 0 1 2 3; do
    s=$EPOCHREALTIME; run "$c" >/dev/null; e=$EPOCHREALTIME
    ((i < 0)) || echo "$c $(($(us "$e") - $(us "$s")))" >>"$tmp/times"
  done
done
host="$(nproc) cores, $(uname -sm), load $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date +%F)"
python3 - "$tmp/times" "$size" "$host" "$runs" "${names[@]}" <<'PY' | tee "$out/startup.md"
import statistics, sys
path, size, host, runs, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
ms = {i: [] for i in range(len(names))}
for line in open(path):
    c, us = line.split()
    ms[int(c)].append(int(us) / 1000)
print(f"Start-up, {runs} runs each, alternating, binary {size / 2**20:.1f} MiB, {host}:\n")
print("| | median | min | max |\n|---|---|---|---|")
for i, name in enumerate(names):
    v = ms[i]
    print(f"| {name} | **{statistics.median(v):.1f} ms** | {min(v):.1f} ms | {max(v):.1f} ms |")
v = ms[0]
med = statistics.median(v)
print(f"\naction start-up: median {med:.1f} ms (range {min(v):.1f}–{max(v):.1f} ms over {len(v)} runs); "
      f"target under 100 ms: " + ("met" if med < 100 else "NOT MET") +
      f" ({sum(x >= 100 for x in v)} of {len(v)} runs at 100 ms or more)")
PY
echo "startup: figures in $out/startup.md"
