// Package pypi is the client core of publishing to a Python package index:
// PyPI's trusted-publishing exchange (audience discovery, token minting with
// diagnostics a maintainer can act on, a re-minting token source), reading
// and checking a distribution's core metadata, the legacy upload API (one
// streamed multipart POST per file, with twine 7's field set and PEP 740
// attestations, cut off before its last bytes when the file changed since
// it was hashed), and reading an index (simple pages as PEP 691 JSON or PEP
// 503 HTML, file downloads, the Integrity API's provenance).
//
// Minted API tokens are secrets: nothing in this package logs or formats
// them, and Client.Mask is called with each one as soon as it is known so
// that a CI log can hide it (::add-mask:: on GitHub Actions).
package pypi
