#!/usr/bin/env bash
# Benchmark: verify N (default 1,000) Sigstore bundles made against the local
# stack, on the same files, with
#   (a) one `attest-publish verify` call over the directory,
#   (b) a loop of `cosign verify-blob`, one process per bundle (all N, or a
#       sample of COSIGN_N bundles whose per-bundle time is compared),
#   (c) one `python -m sigstore verify identity --offline` call over all N,
# alternately (a, b, c, a, b, c, ...) RUNS (default 3) times each; verifying
# writes nothing, so every run checks the same bundles. Every verifier is
# offline against the stack's trusted root and checks the same identity and
# issuer. Wall and CPU (user+sys) times come from /usr/bin/time; the report
# gives the medians and the median and range of the per-bundle ratios over the
# runs. Output: bench/out/verify.txt (and the logs in bench/out/verify/).
#
#   RUNS=3 N=1000 AP=$CACHE/bin/attest-publish flock /tmp/attest-stack.lock bench/verify.sh
#
# Uses the running stack when `stack status` says it is up (it is left
# running); otherwise starts it and stops it on exit, as bench/sign.sh does.
# The stack has fixed ports (one per machine, hence the flock). Takes 3–5 min
# with the defaults on 2 cores (N=1000 kept), most of it in the cosign loop.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
N=${N:-1000}
COSIGN_N=${COSIGN_N:-$N}
OUT=$PWD/bench/out/verify
# shellcheck source=bench/lib.sh
source bench/lib.sh

STACK_DIR=${STACK_DIR:-$PWD/.stack}
STACK_TOOL=${STACK_TOOL:-$CACHE/bin/stack}
if [[ -f $STACK_DIR/stack.env && -x $STACK_TOOL ]] && "$STACK_TOOL" status --dir "$STACK_DIR" >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source "$STACK_DIR/stack.env"
else
  bench_stack_up
fi
[[ -x $VENV/bin/python ]] || { echo "missing $VENV: run make deps" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT/dist" "$OUT/attestations" "$OUT/home"

# N wheels of one release (build tags 1..N), 4 KiB of random bytes each:
# small, so that the time is verification, not hashing.
for i in $(seq 1 "$N"); do
  head -c 4096 /dev/urandom >"$OUT/dist/benchpkg-1.0.0-$i-py3-none-any.whl"
done

identity=https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main
ghenv=(GITHUB_ACTIONS=true GITHUB_SERVER_URL=https://github.com
  ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL"
  ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" HOME="$OUT/home")
# The dists are random bytes (no metadata to check).
env "${ghenv[@]}" "$AP" sign --verify-metadata=false --concurrency 64 --packages-dir "$OUT/dist" \
  --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT" >"$OUT/sign.log" 2>&1 ||
  { tail -20 "$OUT/sign.log"; exit 1; }
# Keep only the N message-signature bundles next to the dists, so that every
# verifier checks exactly the same N objects.
mv "$OUT"/dist/*.attestation "$OUT"/dist/provenance.sigstore.json "$OUT/attestations/"
bundles=$(find "$OUT/dist" -name '*.sigstore.json' | wc -l)
[[ $bundles -eq $N ]] || { echo "expected $N bundles, found $bundles" >&2; exit 1; }

# Let the stack's log signer finish integrating the entries, so that the
# timings below do not share the cores with it.
sleep "${SETTLE:-10}"

"$VENV/bin/python" test/judges/sigstore_trust_config.py --trusted-root "$STACK_TRUSTED_ROOT" \
  --out "$OUT/trust_config.json" >/dev/null

timed() { # label, run, command...: appends "label run wall user sys" to times.txt
  local label=$1 run=$2; shift 2
  /usr/bin/time -f '%e %U %S' -o "$OUT/$label.$run.time" "$@" >"$OUT/$label.$run.log" 2>&1 ||
    { tail -20 "$OUT/$label.$run.log"; echo "verify: $label failed (run $run)" >&2; exit 1; }
  echo "$label $run $(tail -1 "$OUT/$label.$run.time")" >>"$OUT/times.txt"
}

mapfile -t dists < <(find "$OUT/dist" -name '*.whl' | sort | head -n "$COSIGN_N")
# (b) cosign verify-blob, one process per bundle (what a user's loop does).
cosign_loop() {
  for f in "$@"; do
    "$STACK_BIN/cosign" verify-blob "$f" --bundle "$f.sigstore.json" --trusted-root "$STACK_TRUSTED_ROOT" \
      --certificate-identity "$identity" --certificate-oidc-issuer "$STACK_OIDC_ISSUER" || return 1
  done
}
export -f cosign_loop
export STACK_BIN STACK_TRUSTED_ROOT STACK_OIDC_ISSUER identity

for ((r = 1; r <= RUNS; r++)); do
  # (a) one call over the directory: every dist with its .sigstore.json.
  timed attest-publish "$r" env HOME="$OUT/home" "$AP" verify --trusted-root "$STACK_TRUSTED_ROOT" \
    --certificate-identity "$identity" --certificate-oidc-issuer "$STACK_OIDC_ISSUER" "$OUT/dist"
  ok=$(grep -c '^OK ' "$OUT/attest-publish.$r.log" || true)
  [[ $ok -eq $N ]] || { echo "attest-publish verified $ok of $N (run $r)" >&2; exit 1; }
  # (b)
  timed cosign "$r" env HOME="$OUT/home" bash -c 'cosign_loop "$@"' cosign_loop "${dists[@]}"
  # (c) sigstore-python, all N in one call (bundles found as <file>.sigstore.json).
  timed sigstore-python "$r" env HOME="$OUT/home" "$VENV/bin/python" -m sigstore --trust-config "$OUT/trust_config.json" \
    verify identity --offline --cert-identity "$identity" --cert-oidc-issuer "$STACK_OIDC_ISSUER" "$OUT"/dist/*.whl
done

cosign_v=$("$STACK_BIN/cosign" version 2>/dev/null | awk '/^GitVersion:/ {print $2}')
sigstore_v=$("$VENV/bin/python" -m sigstore --version 2>/dev/null | awk '{print $NF}')
PYTHONPATH=bench python3 - "$OUT/times.txt" "$N" "$COSIGN_N" "$cosign_v" "$sigstore_v" <<'PY' | tee "$OUT/../verify.txt"
import sys
from benchstats import median, spread, host
path, n, cn, cosign_v, sigstore_v = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
runs = {}
for line in open(path):
    label, run, wall, user, sys_ = line.split()
    runs.setdefault(label, []).append((float(wall), float(user) + float(sys_)))
count = {"attest-publish": n, "cosign": cn, "sigstore-python": n}
names = {"attest-publish": "attest-publish verify (1 call)",
         "cosign": f"cosign verify-blob {cosign_v} loop",
         "sigstore-python": f"python -m sigstore {sigstore_v} verify identity (1 call)"}
k = len(runs["attest-publish"])
print(f"{n} bundles (4 KiB wheels, Rekor v1 entry + SCT each), local stack's trusted root, offline, "
      f"{k} runs each, alternating attest-publish, cosign, sigstore-python; {host()}")
print(f"{'verifier (medians)':52s} {'bundles':>7s} {'wall s':>8s} {'ms/bundle':>9s} {'CPU s':>8s} {'CPU ms/bundle':>13s}  wall range")
per = {}
for label, rows in runs.items():
    c = count[label]
    walls, cpus = [w for w, _ in rows], [u for _, u in rows]
    per[label] = [w / c * 1000 for w in walls]
    print(f"{names[label]:52s} {c:7d} {median(walls):8.2f} {median(walls) / c * 1000:9.2f} {median(cpus):8.2f} "
          f"{median(cpus) / c * 1000:13.2f}  {min(walls):.2f}–{max(walls):.2f} s")
if cn < n:
    print(f"cosign: {cn} of {n} bundles timed; per bundle, extrapolated to {n}: "
          f"{median(per['cosign']) * n / 1000:.1f} s")
vs_cosign = [c / a for c, a in zip(per["cosign"], per["attest-publish"])]
vs_py = [p / a for p, a in zip(per["sigstore-python"], per["attest-publish"])]
print(f"per bundle, cosign loop / attest-publish: {spread(vs_cosign, fmt='{:.1f}', unit='x')}; "
      "target >= 50x: " + ("met" if median(vs_cosign) >= 50 else "NOT MET"))
print(f"per bundle, sigstore-python / attest-publish: {spread(vs_py, fmt='{:.1f}', unit='x')}")
PY
