package verification

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/verify"
)

// checkTimestampThreshold applies a threshold above one: that many
// distinct RFC 3161 timestamps (one per authority; sigstore-go counts a
// second one from the same authority once) must have verified, the rule
// of sigstore-go's WithSignedTimestamps. A log's integrated time does not
// stand in for them: raising the threshold asks for independent
// timestamp authorities.
func (c *Checker) checkTimestampThreshold(vr *verify.VerificationResult) error {
	want := c.policy.timestampThreshold()
	if want <= 1 {
		return nil
	}
	verified := verifiedAuthorities(vr)
	if verified < want {
		return fmt.Errorf("threshold not met for verified RFC 3161 timestamps: %d < %d (distinct timestamp authorities)", verified, want)
	}
	return nil
}

// verifiedAuthorities counts the RFC 3161 timestamps that verified (one
// per authority: sigstore-go drops a second one from the same authority).
func verifiedAuthorities(vr *verify.VerificationResult) int {
	n := 0
	for _, t := range vr.VerifiedTimestamps {
		if t.Type == "TimestampAuthority" {
			n++
		}
	}
	return n
}

// timestampWarnings names the bundle's RFC 3161 timestamps that did not
// count towards the threshold: ones that did not verify (wrong authority,
// wrong signature, outside the authority's validity) and repeats from one
// authority. The verdict already stands; this only says what was ignored.
// The timestamps are verified once more only in that rare case, to name
// the reason.
func (c *Checker) timestampWarnings(entity *parsedEntity, vr *verify.VerificationResult) []string {
	ts, err := entity.Timestamps()
	if err != nil || len(ts) == 0 {
		return nil
	}
	verified := verifiedAuthorities(vr)
	if verified >= len(ts) {
		return nil
	}
	_, errs, err := verify.VerifySignedTimestamp(entity, c.trust.material)
	if err != nil {
		return []string{fmt.Sprintf("RFC 3161 timestamps not checked: %v", err)}
	}
	warnings := make([]string, 0, len(errs))
	for _, e := range errs {
		warnings = append(warnings, fmt.Sprintf("an RFC 3161 timestamp was ignored (%d of %d counted): %v", verified, len(ts), e))
	}
	if len(warnings) == 0 {
		warnings = append(warnings, fmt.Sprintf("%d of %d RFC 3161 timestamps counted", verified, len(ts)))
	}
	return warnings
}
