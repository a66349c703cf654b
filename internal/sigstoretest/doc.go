// Package sigstoretest runs an in-process fake Sigstore (Fulcio, an RFC 3161
// timestamp authority and a Rekor v1 transparency log) on loopback HTTP for
// unit tests.
//
// The fakes speak the real wire formats, so sigstore-go's own clients
// (sign.NewFulcio, sign.NewTimestampAuthority, sign.NewRekor with Version 1)
// run against them unchanged, and verify.NewVerifier accepts what they
// produce when given the trusted root the instance writes. Certificates carry
// the GitHub Actions identity (URI SAN and Fulcio extensions) of the token
// presented, minted by (*Instance).Token.
//
// All keys are generated per instance (the token-signing RSA key is shared by
// the process); certificates and the timestamping certificate are short-lived,
// so an Instance is good for about nine minutes, plenty for a test.
package sigstoretest
