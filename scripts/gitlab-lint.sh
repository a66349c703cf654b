#!/usr/bin/env bash
# Lints every GitLab CI YAML file we ship against GitLab's own JSON schema
# (check-jsonschema's vendored vendor.gitlab-ci, as its check-gitlab-ci hook
# runs it): examples/.gitlab-ci.yml, and each component template's two
# documents (the spec:inputs header and the jobs) split into files of their
# own, since check-jsonschema reads one document per file. The inputs' shape
# is also checked by cmd/attest-publish's TestGitLabTemplates.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-$PWD/.cache}
cj=${CHECK_JSONSCHEMA:-$CACHE/check-jsonschema-venv/bin/check-jsonschema}
[ -x "$cj" ] || { echo "gitlab-lint: $cj is missing: run scripts/deps.sh (make deps)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=(examples/.gitlab-ci.yml)
for tpl in templates/*.yml; do
  name=$(basename "$tpl" .yml)
  awk -v spec="$tmp/$name.spec.yml" -v jobs="$tmp/$name.jobs.yml" \
    'BEGIN { out = spec } /^---$/ { n++; out = jobs; next } { print > out } END { exit n != 1 }' "$tpl" ||
    { echo "gitlab-lint: $tpl must hold exactly two documents (spec, then jobs)" >&2; exit 1; }
  grep -q '^spec:$' "$tmp/$name.spec.yml" || { echo "gitlab-lint: $tpl: its first document is not spec:" >&2; exit 1; }
  files+=("$tmp/$name.spec.yml" "$tmp/$name.jobs.yml")
done
"$cj" --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci --regex-variant nonunicode "${files[@]}"
echo "gitlab-lint: ${#files[@]} documents valid (examples/.gitlab-ci.yml, templates/*.yml split in two)"
