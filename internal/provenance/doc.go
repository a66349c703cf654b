// Package provenance builds the in-toto statements attest-publish signs: SLSA
// v1 build provenance (for a GitHub Actions run shaped field for field like
// what actions/attest emits; for a GitLab CI/CD job of attest-publish's own
// buildType, docs/buildtypes/gitlab-ci-v1.md, made only of values Fulcio
// copies into the certificate) and PyPI's PEP 740 publish/v1 statement.
package provenance
