// Package signing signs artifacts and in-toto statements keylessly with
// Sigstore: one ephemeral key and one Fulcio certificate per run, reused for
// every signature, with transparency-log entries and RFC 3161 timestamps
// requested concurrently and retried with backoff. Service URLs come from a
// Sigstore signing config; the network code is sigstore-go's.
package signing
