package verification

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Trust is what signatures are verified against: a trusted root, and
// optionally a public key that replaces the certificate identity.
type Trust struct {
	material root.TrustedMaterial
	keyed    bool
	hasTlogs bool
	hasCT    bool

	// github is GitHub's own instance's trust, for certificates GitHub
	// issued (see github.go); isGitHub marks that trust itself, and
	// githubOnly a trust whose only root is GitHub's.
	github     *Trust
	isGitHub   bool
	githubOnly bool
}

// LoadTrust reads a Sigstore trusted root JSON file and, when keyPath is not
// empty, a PEM public key (PKIX "PUBLIC KEY", as cosign generate-key-pair
// writes it) that bundles must be signed with.
//
// The file may also be JSONL with one trusted root per line, as `gh
// attestation trusted-root` prints: GitHub's own instance's root then
// verifies the certificates GitHub issued, the other root the rest.
func LoadTrust(trustedRootPath, keyPath string) (*Trust, error) {
	roots, err := loadRoots(trustedRootPath)
	if err != nil {
		return nil, fmt.Errorf("loading trusted root %s: %w", trustedRootPath, err)
	}
	return trustFromRoots(trustedRootPath, roots, keyPath)
}

// loadRoots reads a trusted root file: one JSON document, or JSONL with one
// trusted root per line.
func loadRoots(path string) ([]*root.TrustedRoot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if json.Valid(data) {
		// One document (pretty-printed or not): its own error, if any.
		tr, err := root.NewTrustedRootFromJSON(data)
		if err != nil {
			return nil, err
		}
		return []*root.TrustedRoot{tr}, nil
	}
	var roots []*root.TrustedRoot
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		tr, err := root.NewTrustedRootFromJSON(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		roots = append(roots, tr)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, errors.New("no trusted root in the file")
	}
	return roots, nil
}

// newTrust adds the optional public key to a parsed trusted root.
func newTrust(tr *root.TrustedRoot, keyPath string) (*Trust, error) {
	t := &Trust{material: tr, hasTlogs: len(tr.RekorLogs()) > 0, hasCT: len(tr.CTLogs()) > 0}
	if keyPath == "" {
		return t, nil
	}
	pemBytes, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key %s: %w", keyPath, err)
	}
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", keyPath, err)
	}
	key := root.NewExpiringKey(sv, timeZero, timeZero)
	t.material = root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return key, nil
	})}
	t.keyed = true
	return t, nil
}

// timeZero leaves a public key's validity unbounded.
var timeZero time.Time

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
