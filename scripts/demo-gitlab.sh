#!/usr/bin/env bash
# make demo-gitlab: the release of `make demo` as a GitLab CI job runs it with
# the release component (templates/release.yml): `attest-publish gitlab`
# reading the AP_INPUT_* variables the template sets, the GitLab-shaped
# id_tokens of a tag pipeline of gitlab.com/octo-org/octo-repo (minted by the
# local issuer), writing the job log with its sections, the dotenv report and
# the Markdown and JSON summaries; then a consumer's job verifies the release
# with the verify component's inputs. Everything is left under .demo/gitlab/.
#
# The release publishes with trusted publishing (PYPI_ID_TOKEN) through the
# test index's GitLab publisher (warehouse's), which verifies both PEP 740
# attestations of each dist with pypi-attestations' GitLab policy; the local
# issuer's GitLab sub-issuer plays gitlab.com (CI_SERVER_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
CACHE=${CACHE:-$PWD/.cache}
VENV=${VENV:-$CACHE/venv}
DEMO=$PWD/.demo/gitlab
# shellcheck source=scripts/stackenv.sh
source scripts/stackenv.sh

rm -rf "$DEMO"
mkdir -p "$DEMO/project/dist" "$DEMO/trust"
cp "$STACK_TRUSTED_ROOT" "$DEMO/trust/trusted_root.json"
cp "$STACK_SIGNING_CONFIG" "$DEMO/trust/signing_config.json"
echo "building the sample project"
"$VENV/bin/python" -m build --no-isolation --outdir "$DEMO/project/dist" testdata/sampleproject >"$DEMO/build.log" 2>&1 ||
  { cat "$DEMO/build.log"; exit 1; }

"$VENV/bin/python" test/indexfront/harness.py start --dir "$DEMO/index" \
  --issuer "$STACK_OIDC_ISSUER" --trusted-root "$DEMO/trust/trusted_root.json" >/dev/null
trap '"$VENV/bin/python" test/indexfront/harness.py stop --dir "$DEMO/index" >/dev/null 2>&1; "$STACK_TOOL" down --dir "$STACK_DIR"' EXIT
# shellcheck disable=SC1091
source "$DEMO/index/indexfront.env"

# A tag pipeline's id_tokens (what GitLab gives a job with id_tokens: and
# environment: pypi), from the local issuer's GitLab sub-issuer.
sha=0123456789abcdef0123456789abcdef01234567
claims="&kind=gitlab&ref=v0.1.0&ref_type=tag&ref_path=refs/tags/v0.1.0&environment=pypi&environment_protected=true"
claims+="&ci_config_ref_uri=gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/tags/v0.1.0&sha=$sha&ci_config_sha=$sha"
mint() {
  curl -fsS -H "Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=$1$claims" |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["value"])'
}
job=(PATH="$PATH" HOME="$DEMO" CI=true GITLAB_CI=true
  CI_SERVER_URL="$STACK_OIDC_ISSUER/gitlab" CI_SERVER_FQDN=gitlab.com CI_PROJECT_PATH=octo-org/octo-repo
  CI_COMMIT_TAG=v0.1.0 CI_COMMIT_REF_NAME=v0.1.0 CI_COMMIT_SHA="$sha" CI_ENVIRONMENT_NAME=pypi
  AP_GITLAB_DOTENV=attest-publish.env AP_GITLAB_SUMMARY=attest-publish-summary.md AP_GITLAB_JSON=attest-publish-summary.json)

echo "== the release job: attest-publish gitlab, as templates/release.yml runs it"
(cd "$DEMO/project" && env -i "${job[@]}" \
  SIGSTORE_ID_TOKEN="$(mint sigstore)" PYPI_ID_TOKEN="$(mint pypi)" \
  AP_INPUT_MODE=release AP_INPUT_PACKAGES_DIR=dist \
  AP_INPUT_SIGNING_CONFIG="$DEMO/trust/signing_config.json" AP_INPUT_TRUSTED_ROOT="$DEMO/trust/trusted_root.json" \
  AP_INPUT_REPOSITORY_URL="$INDEXFRONT_UPLOAD_URL" \
  "$CACHE/bin/attest-publish" gitlab) | tee "$DEMO/release.log"
echo
echo "dotenv report (artifacts:reports:dotenv; later jobs get these variables):"
cut -c1-160 "$DEMO/project/attest-publish.env" | sed 's/^/  /'

identity=https://gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/tags/v0.1.0
echo
echo "judging the release with cosign (the peers' own verifier):"
for d in "$DEMO"/project/dist/*.whl "$DEMO"/project/dist/*.tar.gz; do
  # shellcheck disable=SC2153 # STACK_BIN comes from stack.env
  HOME="$DEMO" "$STACK_BIN/cosign" verify-blob "$d" --bundle "$d.sigstore.json" \
    --trusted-root "$DEMO/trust/trusted_root.json" \
    --certificate-identity "$identity" --certificate-oidc-issuer "$STACK_OIDC_ISSUER/gitlab" 2>&1 | sed "s|^|  $(basename "$d"): |"
done

echo
echo "== a consumer's job: the verify component's inputs, against the pipeline's identity (no token)"
mkdir -p "$DEMO/consumer"
cp -r "$DEMO/project/dist" "$DEMO/consumer/dist"
(cd "$DEMO/consumer" && env -i "${job[@]}" AP_INPUT_MODE=verify AP_INPUT_PACKAGES_DIR=dist \
  AP_INPUT_TRUSTED_ROOT="$DEMO/trust/trusted_root.json" \
  AP_INPUT_CERTIFICATE_IDENTITY="$identity" AP_INPUT_CERTIFICATE_OIDC_ISSUER="$STACK_OIDC_ISSUER/gitlab" \
  "$CACHE/bin/attest-publish" gitlab) | tee "$DEMO/verify.log"
echo
echo "Everything is in .demo/gitlab/ (project/: dists, bundles, attestations, attest-publish.env,"
echo "attest-publish-summary.md and .json; consumer/; release.log and verify.log with their section lines)."
