#!/usr/bin/env bash
# Benchmark: verify N (default 1,000) Sigstore bundles made against the local
# stack, in one run on the same files, with
#   (a) one `attest-publish verify` call over the directory,
#   (b) a loop of `cosign verify-blob`, one process per bundle (all N, or a
#       sample of COSIGN_N bundles whose per-bundle time is extrapolated to N),
#   (c) one `python -m sigstore verify identity --offline` call over all N.
# Every verifier is offline against the stack's trusted root and checks the
# same identity and issuer. Wall and CPU (user+sys) times come from
# /usr/bin/time. Output: bench/out/verify.txt (and the logs in
# bench/out/verify/).
#
# Uses the running stack when `stack status` says it is up (it is left
# running); otherwise starts it and stops it on exit, as bench/sign.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
N=${N:-1000}
COSIGN_N=${COSIGN_N:-$N}
OUT=$PWD/bench/out/verify
BIN=${BIN:-$CACHE/bin/attest-publish}

if [[ -f .stack/stack.env ]] && "$CACHE/bin/stack" status >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source .stack/stack.env
else
  # shellcheck disable=SC1091
  source scripts/stackenv.sh
fi
[[ -x $BIN ]] || { echo "missing $BIN: run make build" >&2; exit 1; }
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
env "${ghenv[@]}" "$BIN" sign --verify-metadata=false --concurrency 64 --packages-dir "$OUT/dist" \
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

timed() { # label, command...: wall, user and sys seconds of the command
  local label=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$OUT/$label.time" "$@" >"$OUT/$label.log" 2>&1 ||
    { tail -20 "$OUT/$label.log"; echo "$label failed" >&2; exit 1; }
}

# (a) one call over the directory: every dist with its .sigstore.json.
timed attest-publish env HOME="$OUT/home" "$BIN" verify --trusted-root "$STACK_TRUSTED_ROOT" \
  --certificate-identity "$identity" --certificate-oidc-issuer "$STACK_OIDC_ISSUER" "$OUT/dist"
ok=$(grep -c '^OK ' "$OUT/attest-publish.log" || true)
[[ $ok -eq $N ]] || { echo "attest-publish verified $ok of $N" >&2; exit 1; }

# (b) cosign verify-blob, one process per bundle (what a user's loop does).
mapfile -t dists < <(find "$OUT/dist" -name '*.whl' | sort | head -n "$COSIGN_N")
cosign_loop() {
  for f in "$@"; do
    "$STACK_BIN/cosign" verify-blob "$f" --bundle "$f.sigstore.json" --trusted-root "$STACK_TRUSTED_ROOT" \
      --certificate-identity "$identity" --certificate-oidc-issuer "$STACK_OIDC_ISSUER" || return 1
  done
}
export -f cosign_loop
export STACK_BIN STACK_TRUSTED_ROOT STACK_OIDC_ISSUER identity
timed cosign env HOME="$OUT/home" bash -c 'cosign_loop "$@"' cosign_loop "${dists[@]}"

# (c) sigstore-python, all N in one call (bundles found as <file>.sigstore.json).
timed sigstore-python env HOME="$OUT/home" "$VENV/bin/python" -m sigstore --trust-config "$OUT/trust_config.json" \
  verify identity --offline --cert-identity "$identity" --cert-oidc-issuer "$STACK_OIDC_ISSUER" "$OUT"/dist/*.whl

python3 - "$OUT" "$N" "$COSIGN_N" "$(nproc)" <<'PY' | tee "$OUT/../verify.txt"
import datetime, sys
out, n, cn, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def t(label):
    wall, user, sys_ = map(float, open(f"{out}/{label}.time").read().split()[-3:])
    return wall, user + sys_
rows = [("attest-publish verify (1 call)", n, *t("attest-publish")),
        (f"cosign verify-blob loop", cn, *t("cosign")),
        ("python -m sigstore verify identity (1 call)", n, *t("sigstore-python"))]
ap_ms = rows[0][2] / n * 1000
print(f"{n} bundles (4 KiB wheels, Rekor v1 entry + SCT each), local stack's trusted root, offline, "
      f"one run, {cores} cores, {datetime.date.today()}")
print(f"{'verifier':46s} {'bundles':>7s} {'wall s':>8s} {'ms/bundle':>9s} {'CPU s':>8s} {'CPU ms/bundle':>13s} {'vs ours':>8s}")
for label, k, wall, cpu in rows:
    ms = wall / k * 1000
    print(f"{label:46s} {k:7d} {wall:8.2f} {ms:9.2f} {cpu:8.2f} {cpu / k * 1000:13.2f} {ms / ap_ms:7.1f}x")
if cn < n:
    c_ms = rows[1][2] / cn * 1000
    print(f"cosign: {cn} of {n} bundles timed; extrapolated to {n}: {c_ms * n / 1000:.1f} s")
print(f"attest-publish is {rows[1][2] / cn * 1000 / ap_ms:.0f}x the cosign loop (target >= 50x) and "
      f"{rows[2][2] / ap_ms / n * 1000:.1f}x sigstore-python, per bundle; "
      f"its CPU (user+sys): {rows[0][3]:.2f} s for {n} bundles")
PY
