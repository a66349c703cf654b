// Package provenance builds the in-toto statements attest-publish signs: SLSA
// v1 build provenance shaped field for field like what actions/attest emits
// for a GitHub Actions run, and PyPI's PEP 740 publish/v1 statement.
package provenance
