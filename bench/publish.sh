#!/usr/bin/env bash
# Benchmark: publish a 200 MiB wheel to a local pypiserver (password mode,
# loopback, free ports picked by test/indexfront/harness.py) with
# `attest-publish publish`, `twine upload` and `uv publish`, alternately
# (attest-publish, twine, uv, attest-publish, ...) RUNS times each, the index's
# package directory emptied before every upload. Reports per tool the median
# wall time, throughput and peak RSS (/usr/bin/time), and the throughput ratios
# attest-publish/twine and attest-publish/uv as the median and range over the
# paired runs. Output: bench/out/publish.txt (logs in bench/out/publish/).
#
#   RUNS=3 SIZE_MIB=200 AP=$CACHE/bin/attest-publish bench/publish.sh
#
# uv (pinned below, from PyPI) is installed into $CACHE/uv-venv when missing.
# Does not use the Sigstore stack.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
UV_VERSION=0.13.9
UV_VENV=${UV_VENV:-$CACHE/uv-venv}
OUT=$PWD/bench/out/publish
SIZE_MIB=${SIZE_MIB:-200}
# shellcheck source=bench/lib.sh
source bench/lib.sh
[[ -x $VENV/bin/twine ]] || { echo "missing $VENV/bin/twine: run make deps" >&2; exit 1; }
if ! [[ -x $UV_VENV/bin/uv ]] || [[ $("$UV_VENV/bin/uv" --version) != "uv $UV_VERSION"* ]]; then
  rm -rf "$UV_VENV"
  python3 -m venv "$UV_VENV"
  "$UV_VENV/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
rm -rf "$OUT"; mkdir -p "$OUT/dist" "$OUT/uv-cache"

# A real wheel (twine and our metadata check read METADATA) with a
# SIZE_MIB payload of random bytes, stored uncompressed.
"$VENV/bin/python" - "$OUT/dist" "$SIZE_MIB" <<'PY'
import os, sys, zipfile
out, size = sys.argv[1], int(sys.argv[2])
name = "benchpkg-1.0.0-py3-none-any.whl"
with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_STORED) as z:
    z.writestr("benchpkg/__init__.py", "")
    with z.open("benchpkg/payload.bin", "w", force_zip64=True) as f:
        for _ in range(size):
            f.write(os.urandom(1 << 20))
    z.writestr("benchpkg-1.0.0.dist-info/METADATA",
               "Metadata-Version: 2.4\nName: benchpkg\nVersion: 1.0.0\nSummary: benchmark\n"
               "Description-Content-Type: text/plain\n\nA large wheel.\n")
    z.writestr("benchpkg-1.0.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("benchpkg-1.0.0.dist-info/RECORD", "")
PY
wheel=$(ls "$OUT"/dist/*.whl)
bytes=$(stat -c %s "$wheel")

"$VENV/bin/python" test/indexfront/harness.py start --dir "$OUT/index" --issuer http://127.0.0.1:1 >/dev/null
index_stop() { "$VENV/bin/python" test/indexfront/harness.py stop --dir "$OUT/index" >/dev/null 2>&1; }
bench_on_exit index_stop
# shellcheck disable=SC1091
source "$OUT/index/indexfront.env"
url="$INDEXFRONT_UPSTREAM_URL/"

measure() { # label, run, command...: one upload under /usr/bin/time into an empty index
  local label=$1 run=$2; shift 2
  local log=$OUT/$label.$run.log
  rm -f "$INDEXFRONT_PACKAGES_DIR"/*
  /usr/bin/time -f '%e %M' -o "$OUT/$label.$run.time" "$@" >"$log" 2>&1 ||
    { tail -20 "$log"; echo "publish: $label failed (run $run)" >&2; exit 1; }
  local got
  got=$(stat -c %s "$INDEXFRONT_PACKAGES_DIR/$(basename "$wheel")" 2>/dev/null || echo 0)
  [[ $got -eq $bytes ]] || { echo "publish: $label stored $got of $bytes bytes (run $run)" >&2; exit 1; }
  echo "$label $run $(cat "$OUT/$label.$run.time")" >>"$OUT/times.txt"
}

for ((r = 1; r <= RUNS; r++)); do
  ATTEST_PUBLISH_PASSWORD="$INDEXFRONT_UPSTREAM_PASSWORD" measure attest-publish "$r" \
    "$AP" publish --repository-url "$url" --packages-dir "$OUT/dist" \
    --user "$INDEXFRONT_UPSTREAM_USER" --attestations=false
  measure twine "$r" "$VENV/bin/twine" upload --disable-progress-bar --repository-url "$url" \
    -u "$INDEXFRONT_UPSTREAM_USER" -p "$INDEXFRONT_UPSTREAM_PASSWORD" "$wheel"
  UV_CACHE_DIR="$OUT/uv-cache" measure uv "$r" "$UV_VENV/bin/uv" publish --no-config --no-progress \
    --trusted-publishing never --publish-url "$url" \
    -u "$INDEXFRONT_UPSTREAM_USER" -p "$INDEXFRONT_UPSTREAM_PASSWORD" "$wheel"
done

twine_v=$("$VENV/bin/twine" --version | head -1 | awk '{print $3}')
PYTHONPATH=bench python3 - "$OUT/times.txt" "$bytes" "$twine_v" "$UV_VERSION" <<'PY' | tee "$OUT/../publish.txt"
import sys
from benchstats import median, spread, host
path, size, twine_v, uv_v = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mib = size / 2**20
runs = {}
for line in open(path):
    label, run, wall, rss = line.split()
    runs.setdefault(label, []).append((float(wall), int(rss) / 1024))
names = {"attest-publish": "attest-publish publish", "twine": f"twine upload {twine_v}", "uv": f"uv publish {uv_v}"}
n = len(runs["attest-publish"])
print(f"one {mib:.0f} MiB wheel to pypiserver on 127.0.0.1 (password mode), {n} runs each, "
      f"alternating attest-publish, twine, uv; {host()}")
print(f"{'':24s} {'wall s':>8s} {'MiB/s':>8s} {'peak RSS MiB':>13s}   (medians; wall range)")
for label, rows in runs.items():
    walls, rsss = [w for w, _ in rows], [r for _, r in rows]
    print(f"{names[label]:24s} {median(walls):8.2f} {mib / median(walls):8.1f} {median(rsss):13.1f}"
          f"   ({min(walls):.2f}–{max(walls):.2f} s)")
ap = [w for w, _ in runs["attest-publish"]]
for other in ("twine", "uv"):
    ratios = [o / a for (o, _), a in zip(runs[other], ap)]
    verdict = ""
    if other == "twine":
        verdict = "; target >= 1.0x: " + ("met" if median(ratios) >= 1.0 else "NOT MET")
    print(f"throughput attest-publish / {other}: {spread(ratios, unit='x')}{verdict}")
rss = [r for _, r in runs["attest-publish"]]
print(f"peak RSS attest-publish: median {median(rss):.1f} MiB, max {max(rss):.1f} MiB; target < 32 MiB: "
      + ("met" if max(rss) < 32 else "NOT MET"))
PY
