#!/usr/bin/env bash
# make demo: a whole release against the local stack. Builds the sample
# project, then runs `attest-publish sign` exactly as a GitHub runner would
# (GITHUB_* and RUNNER_* environment, OIDC token request URL pointing at the
# local issuer), and leaves everything under .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
DEMO=$PWD/.demo
source scripts/stackenv.sh

rm -rf "$DEMO"
mkdir -p "$DEMO/dist" "$DEMO/trust"
cp "$STACK_TRUSTED_ROOT" "$DEMO/trust/trusted_root.json"
cp "$STACK_SIGNING_CONFIG" "$DEMO/trust/signing_config.json"
echo "building the sample project"
"$VENV/bin/python" -m build --no-isolation --outdir "$DEMO/dist" testdata/sampleproject >"$DEMO/build.log" 2>&1 ||
  { cat "$DEMO/build.log"; exit 1; }
echo '{"inputs":{}}' >"$DEMO/event.json"

echo "running attest-publish sign as a GitHub runner would"
env -i PATH="$PATH" HOME="$DEMO" \
  CI=true GITHUB_ACTIONS=true \
  GITHUB_SERVER_URL=https://github.com GITHUB_API_URL=https://api.github.com \
  GITHUB_REPOSITORY=octo-org/octo-repo GITHUB_REPOSITORY_OWNER=octo-org \
  GITHUB_REPOSITORY_ID=123456 GITHUB_REPOSITORY_OWNER_ID=7890 \
  GITHUB_WORKFLOW=Release GITHUB_WORKFLOW_REF=octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main \
  GITHUB_REF=refs/heads/main GITHUB_REF_NAME=main GITHUB_REF_TYPE=branch \
  GITHUB_EVENT_NAME=workflow_dispatch GITHUB_EVENT_PATH="$DEMO/event.json" \
  GITHUB_RUN_ID=42 GITHUB_RUN_ATTEMPT=1 GITHUB_ACTOR=octocat GITHUB_WORKSPACE="$PWD" \
  RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_ENVIRONMENT=github-hosted RUNNER_TEMP="$DEMO" \
  ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL" \
  ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  "$CACHE/bin/attest-publish" sign --packages-dir "$DEMO/dist" \
    --signing-config "$DEMO/trust/signing_config.json" --trusted-root "$DEMO/trust/trusted_root.json" |
  tee "$DEMO/report.txt"

echo
echo "judging the release with cosign (the peers' own verifier):"
for d in "$DEMO"/dist/*.whl "$DEMO"/dist/*.tar.gz; do
  HOME="$DEMO" "$STACK_BIN/cosign" verify-blob "$d" --bundle "$d.sigstore.json" \
    --trusted-root "$DEMO/trust/trusted_root.json" \
    --certificate-identity https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main \
    --certificate-oidc-issuer "$STACK_OIDC_ISSUER" 2>&1 | sed "s|^|  $(basename "$d"): |"
done
echo
echo "Everything is in .demo/ (dists, bundles, attestations, trust files, report.txt)."
