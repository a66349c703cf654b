package verification

import (
	"strings"
	"testing"
)

// TestEveryTimestampMustVerify swaps a bundle's RFC 3161 timestamp for one
// the same authority issued over another signature: the log entry alone
// would satisfy sigstore-go's observer-timestamp threshold, but every
// timestamp a bundle carries must verify.
func TestEveryTimestampMustVerify(t *testing.T) {
	f := newBenchFixture(t)
	c := f.checker(t)
	load := func(i int) []*MaterialSet {
		sets, err := LoadMaterial(f.items[i].Bundles, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sets
	}
	if r := c.Verify(f.items[0].Artifact, load(0)); !r.Verified {
		t.Fatalf("untouched bundle: %s: %s", r.FailedCheck, r.Error)
	}
	sets, other := load(0), load(1)
	ts := sets[0].Items[0].Bundle.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
	otherTS := other[0].Items[0].Bundle.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
	if len(ts) != 1 || len(otherTS) != 1 {
		t.Fatalf("fixture bundles carry %d and %d timestamps, want 1 each", len(ts), len(otherTS))
	}
	ts[0] = otherTS[0]
	r := c.Verify(f.items[0].Artifact, sets)
	if r.Verified || r.FailedCheck != CheckSignature || !strings.Contains(r.Error, "signed timestamps: 0 < 1") {
		t.Errorf("bundle with another signature's timestamp: verified %v, %s: %s", r.Verified, r.FailedCheck, r.Error)
	}
}
