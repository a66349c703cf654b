// Package publish uploads a release's distributions to a Python package
// index, the way pypa/gh-action-pypi-publish does, but verifying every
// Sigstore bundle and PEP 740 attestation before the first byte leaves and
// hashing each file again as it is streamed, so that one changed since its
// verification is cut off before its last bytes and never lands. Whatever
// happens, Run returns a report saying, for every dist, whether it is now
// live on the index, so that a rerun with SkipExisting can finish an
// interrupted run.
package publish
