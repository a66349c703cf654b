// Package verification checks Sigstore bundles and PEP 740 attestations
// against a trusted root and an identity policy, with sigstore-go doing the
// cryptography, and checks what the statements say (subjects, predicate
// type). attest-publish uses it to verify its own output before anything
// leaves the runner.
package verification
