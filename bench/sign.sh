#!/usr/bin/env bash
# Benchmark: sign N (default 20) dists against the local stack with
# `attest-publish sign` in a GitHub Actions job, with `attest-publish sign` in
# a GitLab CI job (a GitLab-shaped id_token from the stack's GitLab issuer, so
# a GitLab certificate and GitLab provenance), and with what a user would
# otherwise run per file (cosign sign-blob + cosign attest-blob), alternately
# (GitHub, GitLab, cosign, GitHub, ...) RUNS (default 3) times each, every run
# on fresh copies of the same dists (signing writes its outputs next to them);
# reports the median times and the median and range of the ratios (cosign
# loop / attest-publish, and GitLab / GitHub, whose target is at most 1.2x),
# and counts Fulcio certificates per run. Before the timed runs each side
# signs one dist, untimed, so that none pays for the freshly started stack's
# first requests. The GitLab job's token is minted before its timer starts,
# as GitLab hands it to the job in SIGSTORE_ID_TOKEN.
# Output: bench/out/sign.txt (logs in bench/out/sign/).
#
#   RUNS=3 N=20 AP=$CACHE/bin/attest-publish flock /tmp/attest-stack.lock bench/sign.sh
#
# Starts the local stack (fixed ports: one per machine, hence the flock) and
# stops it on exit. Takes ~1 min with the defaults on 2 cores (N=20 kept).
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
CACHE=${CACHE:-$PWD/.cache}
N=${N:-20}
OUT=$PWD/bench/out/sign
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_stack_up
rm -rf "$OUT"; mkdir -p "$OUT/src" "$OUT/home"

# N-1 wheels and an sdist of one release, 256 KiB of random bytes each.
for i in $(seq 1 $((N - 1))); do
  head -c 262144 /dev/urandom >"$OUT/src/benchpkg-1.0.0-$i-py3-none-any.whl"
done
head -c 262144 /dev/urandom >"$OUT/src/benchpkg-1.0.0.tar.gz"
echo '{}' >"$OUT/predicate.json"

ghenv=(GITHUB_ACTIONS=true GITHUB_SERVER_URL=https://github.com
  ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL"
  ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" HOME="$OUT/home")
now() { date +%s.%N; }

sign_attest_publish() { # dir
  # The dists are random bytes (no metadata to check); time only the signing.
  env "${ghenv[@]}" "$AP" sign --verify-metadata=false --packages-dir "$1" \
    --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT"
}
# The GitLab job: GITLAB_CI and the token in SIGSTORE_ID_TOKEN, no GitHub
# variables. Its token is minted by prepare_attest_publish_gitlab.
gitlab_token() {
  curl -fsS -H "Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore&kind=gitlab" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["value"])'
}
prepare_attest_publish_gitlab() { gitlab_token >"$OUT/gitlab.token"; }
sign_attest_publish_gitlab() { # dir
  env -u ACTIONS_ID_TOKEN_REQUEST_URL -u ACTIONS_ID_TOKEN_REQUEST_TOKEN -u GITHUB_ACTIONS \
    CI=true GITLAB_CI=true SIGSTORE_ID_TOKEN="$(cat "$OUT/gitlab.token")" HOME="$OUT/home" \
    "$AP" sign --verify-metadata=false --packages-dir "$1" \
    --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT"
}
sign_cosign() { # dir
  local f
  for f in "$1"/*.whl "$1"/*.tar.gz; do
    env "${ghenv[@]}" "$STACK_BIN/cosign" sign-blob -y "$f" --bundle "$f.sigstore.json" \
      --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT" || return 1
    env "${ghenv[@]}" "$STACK_BIN/cosign" attest-blob -y "$f" --predicate "$OUT/predicate.json" \
      --type https://docs.pypi.org/attestations/publish/v1 --bundle "$f.publish.sigstore.json" \
      --signing-config "$STACK_SIGNING_CONFIG" --trusted-root "$STACK_TRUSTED_ROOT" || return 1
  done
}
timed() { # label, run: signs a fresh copy of the dists; appends "label run seconds certificates"
  local label=$1 run=$2 dir=$OUT/run$2/$1 t0 t1 c0 c1
  mkdir -p "$dir"; cp "$OUT"/src/* "$dir/"
  if declare -F "prepare_${label//-/_}" >/dev/null; then "prepare_${label//-/_}"; fi
  c0=$("$STACK_TOOL" fulcio-certs)
  t0=$(now)
  "sign_${label//-/_}" "$dir" >"$OUT/$label.$run.log" 2>&1 ||
    { tail -20 "$OUT/$label.$run.log"; echo "sign: $label failed (run $run)" >&2; exit 1; }
  t1=$(now)
  c1=$("$STACK_TOOL" fulcio-certs)
  echo "$label $run $t0 $t1 $((c1 - c0))" >>"$OUT/times.txt"
}

for side in attest-publish attest-publish-gitlab cosign; do # warm-up, untimed
  mkdir -p "$OUT/warmup/$side"; cp "$OUT/src/benchpkg-1.0.0.tar.gz" "$OUT/warmup/$side/"
  if declare -F "prepare_${side//-/_}" >/dev/null; then "prepare_${side//-/_}"; fi
  "sign_${side//-/_}" "$OUT/warmup/$side" >"$OUT/$side.warmup.log" 2>&1 ||
    { tail -20 "$OUT/$side.warmup.log"; echo "sign: $side failed (warm-up)" >&2; exit 1; }
done
for ((r = 1; r <= RUNS; r++)); do
  timed attest-publish "$r"
  timed attest-publish-gitlab "$r"
  timed cosign "$r"
done

PYTHONPATH=bench python3 - "$OUT/times.txt" "$N" <<'PY' | tee "$OUT/../sign.txt"
import sys
from benchstats import median, spread, host
path, n = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(path):
    label, run, t0, t1, certs = line.split()
    runs.setdefault(label, []).append((float(t1) - float(t0), int(certs)))
ap, gl, co = runs["attest-publish"], runs["attest-publish-gitlab"], runs["cosign"]
k = len(ap)
print(f"dists: {n} (256 KiB each), same local stack (Rekor v1, TSA, CT), {k} runs each, "
      f"alternating attest-publish (GitHub identity), attest-publish (GitLab identity), cosign, "
      f"on fresh copies; {host()}")
print(f"attest-publish sign, GitHub Actions identity: {spread([t for t, _ in ap], unit=' s')}, {3*n+1} signatures "
      f"(bundle + publish + SLSA per dist, + release provenance), "
      f"Fulcio certificates per run: {'/'.join(str(c) for _, c in ap)}")
print(f"attest-publish sign, GitLab CI identity: {spread([t for t, _ in gl], unit=' s')}, {3*n+1} signatures "
      f"(the same, GitLab CI provenance), "
      f"Fulcio certificates per run: {'/'.join(str(c) for _, c in gl)}")
glratios = [g / a for (g, _), (a, _) in zip(gl, ap)]
print(f"ratio GitLab / GitHub: {spread(glratios, fmt='{:.2f}', unit='x')} (target: at most 1.2x)")
print(f"cosign loop (sign-blob + attest-blob per file): {spread([t for t, _ in co], unit=' s')}, "
      f"{2*n} signatures, Fulcio certificates per run: {'/'.join(str(c) for _, c in co)}")
ratios = [c / a for (c, _), (a, _) in zip(co, ap)]
print(f"ratio cosign loop / attest-publish: {spread(ratios, fmt='{:.1f}', unit='x')} faster, "
      f"while making {(3*n+1)/(2*n):.1f}x the signatures")
PY
