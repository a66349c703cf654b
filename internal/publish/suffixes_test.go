package publish

import "github.com/attest-publish/attest-publish/internal/dists"

// Short names for the sidecar suffixes in this package's tests.
const (
	bundleSuffix  = dists.BundleSuffix
	publishSuffix = dists.PublishAttestationSuffix
	slsaSuffix    = dists.SLSAAttestationSuffix
)
