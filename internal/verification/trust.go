package verification

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// The embedded trusted roots; embedded/README.md records where each came
// from and when.
var (
	//go:embed embedded/public-good-trusted_root.json
	publicGoodRootJSON []byte
	//go:embed embedded/staging-trusted_root.json
	stagingRootJSON []byte
)

// MaxSnapshotAge is how old an embedded trusted root may be before verify
// warns that it may be missing keys rotated in since: Sigstore announces
// new log and CA keys in the TUF repository months ahead, so a snapshot
// older than this may lack a key that current bundles are signed with.
const MaxSnapshotAge = 183 * 24 * time.Hour

// EmbeddedRoot is a trusted_root.json snapshot built into the binary.
type EmbeddedRoot struct {
	// Name is the Sigstore instance ("public-good" or "staging").
	Name string
	// Source says where the file was taken from.
	Source string
	// Snapshot is the date of the upstream commit the file was taken at.
	Snapshot time.Time
	// JSON is the file.
	JSON []byte
}

// PublicGood is the embedded public-good production trusted root.
var PublicGood = EmbeddedRoot{
	Name:     "public-good",
	Source:   "sigstore/root-signing targets/trusted_root.json @ 60cf2ce8b2e45d600dc17c4421e8c751e75772be",
	Snapshot: time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC),
	JSON:     publicGoodRootJSON,
}

// Staging is the embedded public-good staging trusted root.
var Staging = EmbeddedRoot{
	Name:     "staging",
	Source:   "sigstore/sigstore-python sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json @ 27db13db157e",
	Snapshot: time.Date(2026, 8, 19, 0, 0, 0, 0, time.UTC),
	JSON:     stagingRootJSON,
}

// LoadEmbeddedTrust builds trust from an embedded root and an optional key,
// and returns the staleness warnings for it at now.
func LoadEmbeddedTrust(er EmbeddedRoot, keyPath string, now time.Time) (*Trust, []string, error) {
	tr, err := root.NewTrustedRootFromJSON(er.JSON)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded %s trusted root: %w", er.Name, err)
	}
	warnings, err := StalenessWarnings(er.JSON, er.Snapshot, now)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded %s trusted root: %w", er.Name, err)
	}
	for i, w := range warnings {
		warnings[i] = fmt.Sprintf("embedded %s trusted root (%s, taken %s): %s; pass a current --trusted-root or use --tuf",
			er.Name, er.Source, er.Snapshot.Format(time.DateOnly), w)
	}
	t, err := newTrust(tr, keyPath)
	return t, warnings, err
}

// LoadTUFTrust fetches the current trusted root with sigstore-go's TUF
// client (network; cached under ~/.sigstore) for public-good or staging.
func LoadTUFTrust(staging bool, keyPath string) (*Trust, error) {
	opts := tuf.DefaultOptions().WithFetcher(netguard.TUFFetcher())
	if staging {
		opts = opts.WithRoot(tuf.StagingRoot()).WithRepositoryBaseURL(tuf.StagingMirror)
	}
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("fetching the trusted root over TUF from %s: %w", opts.RepositoryBaseURL, err)
	}
	return newTrust(tr, keyPath)
}

// validity is a trusted root entry's validFor.
type validity struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// StalenessWarnings applies the staleness rule to a trusted root snapshot
// taken at snapshot, judged at now. It warns:
//
//   - when the snapshot is older than MaxSnapshotAge;
//   - for each kind of entry (transparency logs, certificate authorities,
//     CT logs, timestamp authorities) that the root has but of which none is
//     valid at now (every one has an end date in the past, or a start date
//     in the future): nothing signed today can be verified with that kind.
//
// A single entry with a past end date is normal (a rotated key kept to
// verify old signatures) and is not warned about while a successor is open.
func StalenessWarnings(rootJSON []byte, snapshot, now time.Time) ([]string, error) {
	var tr struct {
		Tlogs []struct {
			PublicKey struct {
				ValidFor validity `json:"validFor"`
			} `json:"publicKey"`
		} `json:"tlogs"`
		CAs []struct {
			ValidFor validity `json:"validFor"`
		} `json:"certificateAuthorities"`
		CTLogs []struct {
			PublicKey struct {
				ValidFor validity `json:"validFor"`
			} `json:"publicKey"`
		} `json:"ctlogs"`
		TSAs []struct {
			ValidFor validity `json:"validFor"`
		} `json:"timestampAuthorities"`
	}
	if err := json.Unmarshal(rootJSON, &tr); err != nil {
		return nil, fmt.Errorf("reading validity periods: %w", err)
	}
	var warnings []string
	if age := now.Sub(snapshot); age > MaxSnapshotAge {
		warnings = append(warnings, fmt.Sprintf("the snapshot is %d days old (more than %d)", int(age.Hours()/24), int(MaxSnapshotAge.Hours()/24)))
	}
	kinds := []struct {
		name string
		vs   []validity
	}{{name: "transparency log"}, {name: "certificate authority"}, {name: "CT log"}, {name: "timestamp authority"}}
	for _, e := range tr.Tlogs {
		kinds[0].vs = append(kinds[0].vs, e.PublicKey.ValidFor)
	}
	for _, e := range tr.CAs {
		kinds[1].vs = append(kinds[1].vs, e.ValidFor)
	}
	for _, e := range tr.CTLogs {
		kinds[2].vs = append(kinds[2].vs, e.PublicKey.ValidFor)
	}
	for _, e := range tr.TSAs {
		kinds[3].vs = append(kinds[3].vs, e.ValidFor)
	}
	for _, k := range kinds {
		if len(k.vs) == 0 {
			continue
		}
		open := false
		var lastEnd time.Time
		for _, v := range k.vs {
			if v.End != nil && v.End.After(lastEnd) {
				lastEnd = *v.End
			}
			if (v.Start == nil || !v.Start.After(now)) && (v.End == nil || v.End.After(now)) {
				open = true
			}
		}
		if !open {
			warnings = append(warnings, fmt.Sprintf("no %s in it is valid now (the last one ended %s)", k.name, lastEnd.Format(time.DateOnly)))
		}
	}
	return warnings, nil
}
