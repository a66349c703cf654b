#!/usr/bin/env bash
# make demo: a whole release against the local stack. Builds the sample
# project, then runs `attest-publish sign` exactly as a GitHub runner would
# (GITHUB_* and RUNNER_* environment, OIDC token request URL pointing at the
# local issuer), and leaves everything under .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
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

# The environment of a GitHub-hosted runner job with "permissions: id-token: write".
runner=(PATH="$PATH" HOME="$DEMO"
  CI=true GITHUB_ACTIONS=true
  GITHUB_SERVER_URL=https://github.com GITHUB_API_URL=https://api.github.com
  GITHUB_REPOSITORY=octo-org/octo-repo GITHUB_REPOSITORY_OWNER=octo-org
  GITHUB_REPOSITORY_ID=123456 GITHUB_REPOSITORY_OWNER_ID=9919
  GITHUB_WORKFLOW=Release GITHUB_WORKFLOW_REF=octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main
  GITHUB_REF=refs/heads/main GITHUB_REF_NAME=main GITHUB_REF_TYPE=branch
  GITHUB_EVENT_NAME=workflow_dispatch GITHUB_EVENT_PATH="$DEMO/event.json"
  GITHUB_RUN_ID=42 GITHUB_RUN_ATTEMPT=1 GITHUB_ACTOR=octocat GITHUB_WORKSPACE="$PWD"
  RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_ENVIRONMENT=github-hosted RUNNER_TEMP="$DEMO"
  ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL"
  ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN")

echo "== sign, as a GitHub runner would run it"
env -i "${runner[@]}" "$CACHE/bin/attest-publish" sign --packages-dir "$DEMO/dist" \
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
echo "== publish with trusted publishing to a local index (pypiserver behind a PyPI-like front)"
"$VENV/bin/python" test/indexfront/harness.py start --dir "$DEMO/index" \
  --issuer "$STACK_OIDC_ISSUER" --trusted-root "$DEMO/trust/trusted_root.json" >/dev/null
trap '"$VENV/bin/python" test/indexfront/harness.py stop --dir "$DEMO/index" >/dev/null 2>&1; "$STACK_TOOL" down --dir "$STACK_DIR"' EXIT
# shellcheck disable=SC1091
source "$DEMO/index/indexfront.env"
env -i "${runner[@]}" "$CACHE/bin/attest-publish" publish --repository-url "$INDEXFRONT_UPLOAD_URL" \
  --packages-dir "$DEMO/dist" --trusted-root "$DEMO/trust/trusted_root.json" | tee "$DEMO/publish.txt"

echo
echo "== install and download from the index, compare with what was signed"
"$VENV/bin/python" -m venv "$DEMO/consumer"
"$DEMO/consumer/bin/pip" install -q --no-deps --index-url "$INDEXFRONT_SIMPLE_URL" attest-publish-sample==0.1.0
"$DEMO/consumer/bin/python" -c 'import attest_publish_sample as m; print("  installed attest_publish_sample", m.__version__)'
"$DEMO/consumer/bin/pip" download -q --no-deps --only-binary :all: -d "$DEMO/downloaded" \
  --index-url "$INDEXFRONT_SIMPLE_URL" attest-publish-sample==0.1.0
for f in "$DEMO"/downloaded/*; do
  got=$(sha256sum "$f" | cut -d' ' -f1); want=$(sha256sum "$DEMO/dist/$(basename "$f")" | cut -d' ' -f1)
  [ "$got" = "$want" ] && echo "  $(basename "$f"): sha256 matches the signed file" ||
    { echo "  $(basename "$f"): sha256 DIFFERS ($got != $want)"; exit 1; }
done

echo
echo "== a consumer verifies every file of the release from the index (PEP 740 provenance, publisher policy)"
"$CACHE/bin/attest-publish" verify --from-index "$INDEXFRONT_URL" --trusted-root "$DEMO/trust/trusted_root.json" \
  --certificate-identity https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main \
  --certificate-oidc-issuer "$STACK_OIDC_ISSUER" \
  --publisher-kind github --publisher-repository octo-org/octo-repo --publisher-workflow release.yml \
  attest-publish-sample==0.1.0 | tee "$DEMO/verify.txt"
echo
echo "Everything is in .demo/ (dists, bundles, attestations, trust files, report.txt, publish.txt, verify.txt)."
