#!/usr/bin/env bash
# Benchmark: sign 20 dists against the local stack with `attest-publish sign`
# and with what a user would otherwise run per file (cosign sign-blob +
# cosign attest-blob), in one run on the same machine; report the ratio and
# count Fulcio certificates. Output: bench/out/sign.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
CACHE=${CACHE:-$PWD/.cache}
N=${N:-20}
OUT=$PWD/bench/out
source scripts/stackenv.sh
rm -rf "$OUT"; mkdir -p "$OUT/ap" "$OUT/cosign"

# 19 wheels and an sdist of one release, 256 KiB of random bytes each.
for i in $(seq 1 $((N - 1))); do
  head -c 262144 /dev/urandom >"$OUT/ap/benchpkg-1.0.0-$i-py3-none-any.whl"
done
head -c 262144 /dev/urandom >"$OUT/ap/benchpkg-1.0.0.tar.gz"
cp "$OUT"/ap/* "$OUT/cosign/"

ghenv=(GITHUB_ACTIONS=true GITHUB_SERVER_URL=https://github.com
  ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL"
  ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" HOME="$OUT/home")
mkdir -p "$OUT/home"
now() { date +%s.%N; }

certs0=$("$STACK_TOOL" fulcio-certs)
t0=$(now)
# The dists are random bytes (no metadata to check); time only the signing.
env "${ghenv[@]}" "$CACHE/bin/attest-publish" sign --verify-metadata=false --packages-dir "$OUT/ap" \
  --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT" >"$OUT/ap.log" 2>&1
t1=$(now)
certs1=$("$STACK_TOOL" fulcio-certs)

echo '{}' >"$OUT/predicate.json"
t2=$(now)
for f in "$OUT"/cosign/*.whl "$OUT"/cosign/*.tar.gz; do
  env "${ghenv[@]}" "$STACK_BIN/cosign" sign-blob -y "$f" --bundle "$f.sigstore.json" \
    --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT" >>"$OUT/cosign.log" 2>&1
  env "${ghenv[@]}" "$STACK_BIN/cosign" attest-blob -y "$f" --predicate "$OUT/predicate.json" \
    --type https://docs.pypi.org/attestations/publish/v1 --bundle "$f.publish.sigstore.json" \
    --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT" >>"$OUT/cosign.log" 2>&1
done
t3=$(now)
certs2=$("$STACK_TOOL" fulcio-certs)

python3 - "$t0" "$t1" "$t2" "$t3" "$certs0" "$certs1" "$certs2" "$N" <<'PY' | tee "$OUT/sign.txt"
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
c0, c1, c2, n = map(int, sys.argv[5:9])
ap, co = t1 - t0, t3 - t2
print(f"dists: {n} (256 KiB each), same local stack (Rekor v1, TSA, CT), same machine, one run")
print(f"attest-publish sign: {ap:.2f} s, {3*n+1} signatures "
      f"(bundle + publish + SLSA per dist, + release provenance), Fulcio certificates: {c1-c0}")
print(f"cosign loop (sign-blob + attest-blob per file): {co:.2f} s, {2*n} signatures, Fulcio certificates: {c2-c1}")
print(f"ratio: attest-publish is {co/ap:.1f}x faster while making {(3*n+1)/(2*n):.1f}x the signatures")
PY
