// Package attest signs and attests a release's distributions in one run:
// a Sigstore bundle per dist, PEP 740 publish and SLSA attestations per dist,
// and one multi-subject SLSA provenance bundle for the release (a GitHub
// Actions run's or a GitLab CI job's, see package provenance). It verifies
// everything it wrote, read back from disk, before any file takes its final
// name, and leaves nothing behind when any check fails.
package attest
