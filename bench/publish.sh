#!/usr/bin/env bash
# Benchmark: publish a 200 MiB wheel to a local pypiserver (password mode,
# loopback) with `attest-publish publish` and with `twine upload`, one run
# each on the same server; report wall time, throughput and peak RSS
# (/usr/bin/time -v). Output: bench/out/publish.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
OUT=$PWD/bench/out/publish
SIZE_MIB=${SIZE_MIB:-200}
rm -rf "$OUT"; mkdir -p "$OUT/dist"

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
trap '"$VENV/bin/python" test/indexfront/harness.py stop --dir "$OUT/index" >/dev/null 2>&1' EXIT
# shellcheck disable=SC1091
source "$OUT/index/indexfront.env"
url="$INDEXFRONT_UPSTREAM_URL/"

measure() { # label, command...: runs it under /usr/bin/time -v
  local label=$1; shift
  /usr/bin/time -v "$@" >"$OUT/$label.log" 2>&1 || { cat "$OUT/$label.log"; exit 1; }
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$OUT/$label.log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$OUT/$label.log" | awk '{print $NF}')
  echo "$label $wall $rss"
}

a=$(ATTEST_PUBLISH_PASSWORD="$INDEXFRONT_UPSTREAM_PASSWORD" measure attest-publish \
  "$CACHE/bin/attest-publish" publish --repository-url "$url" --packages-dir "$OUT/dist" \
  --user "$INDEXFRONT_UPSTREAM_USER" --attestations=false)
rm -f "$INDEXFRONT_PACKAGES_DIR"/*
t=$(measure twine "$VENV/bin/twine" upload --disable-progress-bar --repository-url "$url" \
  -u "$INDEXFRONT_UPSTREAM_USER" -p "$INDEXFRONT_UPSTREAM_PASSWORD" "$wheel")

python3 - "$bytes" "$a" "$t" <<'PY' | tee "$OUT/../publish.txt"
import sys
size = int(sys.argv[1])
def parse(s):
    label, wall, rss = s.split()
    parts = [float(p) for p in wall.split(":")]
    secs = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
    return label, secs, int(rss) / 1024
rows = [parse(sys.argv[2]), parse(sys.argv[3])]
print(f"one {size / 2**20:.0f} MiB wheel to pypiserver on 127.0.0.1 (password mode), one run each")
for label, secs, rss in rows:
    print(f"{label:15s} {secs:6.2f} s  {size / 2**20 / secs:7.1f} MiB/s  peak RSS {rss:6.1f} MiB")
(_, a, arss), (_, t, trss) = rows
print(f"throughput attest-publish / twine: {t / a:.2f}; peak RSS attest-publish {arss:.1f} MiB (target < 64 MiB)")
PY
