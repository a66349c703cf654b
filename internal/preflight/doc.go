// Package preflight checks, before anything is signed, what PyPI would
// refuse later, and says how to fix it.
//
// Check reads the CI token's claims, the dists and the attestations that
// will go with them, and the release's age on the index, and returns a
// Report of findings: a reusable workflow releasing with PEP 740
// attestations, a pull_request_target trigger, a release past PyPI's
// 14-day window for new files, more attestations per file than PyPI takes,
// local versions, and dist filenames PyPI would want named differently.
// Each finding names the values it was judged on and the exact change to
// make. Check does no I/O: the caller reads the claims, lists the
// attestation files (ReadSidecars) and asks the index when the release was
// first uploaded (FirstUpload reads that from a PEP 691 page), then calls
// Check and stops on Report.Err before it asks Fulcio for a certificate.
//
// The rules follow warehouse as of 2026-08 (warehouse/forklift/legacy.py,
// warehouse/attestations/services.py, warehouse/oidc/models/github.py) and
// pypi-attestations' GitHub publisher policy.
package preflight
