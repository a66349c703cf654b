package signing

import (
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Services are the Sigstore endpoints one signing run uses.
type Services struct {
	// FulcioURL is the certificate authority's base URL.
	FulcioURL string
	// TSAURLs are RFC 3161 timestamp endpoints (full URLs).
	TSAURLs []string
	// Rekors are transparency logs.
	Rekors []RekorService
}

// RekorService is one transparency log and its API major version.
type RekorService struct {
	// URL is the log's base URL.
	URL string
	// Version is 1 (Rekor) or 2 (rekor-tiles).
	Version uint32
}

// SelectOptions tune service selection.
type SelectOptions struct {
	// RekorVersion picks the transparency log API: 1, 2, or 0 for "1 when the
	// signing config offers it" (PyPI needs a Rekor v1 entry).
	RekorVersion uint32
	// Now is the time services must be valid at (default time.Now()).
	Now time.Time
}

// SelectServices picks the endpoints to use from a signing config.
func SelectServices(sc *root.SigningConfig, opts SelectOptions) (*Services, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	fulcio, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return nil, fmt.Errorf("signing config: no usable Fulcio: %w", err)
	}
	s := &Services{FulcioURL: fulcio.URL}
	if len(sc.TimestampAuthorityURLs()) > 0 {
		tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), []uint32{1}, now)
		if err != nil {
			return nil, fmt.Errorf("signing config: no usable timestamp authority: %w", err)
		}
		for _, t := range tsas {
			s.TSAURLs = append(s.TSAURLs, t.URL)
		}
	}
	if len(sc.RekorLogURLs()) > 0 {
		versions := []uint32{opts.RekorVersion}
		if opts.RekorVersion == 0 {
			versions = []uint32{1}
		}
		logs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), versions, now)
		if err != nil && opts.RekorVersion == 0 {
			logs, err = root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
		}
		if err != nil {
			return nil, fmt.Errorf("signing config: no usable Rekor (version %v): %w", versions, err)
		}
		for _, l := range logs {
			s.Rekors = append(s.Rekors, RekorService{URL: l.URL, Version: l.MajorAPIVersion})
		}
	}
	if len(s.TSAURLs) == 0 && len(s.Rekors) == 0 {
		return nil, fmt.Errorf("signing config names neither a transparency log nor a timestamp authority: a signature would carry no trusted time")
	}
	for _, r := range s.Rekors {
		if r.Version == 2 && len(s.TSAURLs) == 0 {
			return nil, fmt.Errorf("signing config selects Rekor v2 (%s) without a timestamp authority: Rekor v2 gives no signed time, add a TSA", r.URL)
		}
	}
	return s, nil
}

// Trust holds the signing config and trusted root of a Sigstore instance.
type Trust struct {
	// SigningConfig lists the instance's services.
	SigningConfig *root.SigningConfig
	// TrustedRoot holds the instance's trust anchors.
	TrustedRoot *root.TrustedRoot
}

// LoadTrust reads a signing config and a trusted root from files. With both
// paths empty it fetches the public-good instance's over TUF (network).
func LoadTrust(signingConfigPath, trustedRootPath string) (*Trust, error) {
	if (signingConfigPath == "") != (trustedRootPath == "") {
		return nil, fmt.Errorf("give both --signing-config and --trusted-root, or neither (public-good Sigstore over TUF)")
	}
	if signingConfigPath == "" {
		opts := tuf.DefaultOptions().WithFetcher(netguard.TUFFetcher())
		client, err := tuf.New(opts)
		if err != nil {
			return nil, fmt.Errorf("fetching public-good Sigstore trust over TUF: %w", err)
		}
		sc, err := root.GetSigningConfig(client)
		if err != nil {
			return nil, fmt.Errorf("fetching public-good signing config: %w", err)
		}
		tr, err := root.GetTrustedRoot(client)
		if err != nil {
			return nil, fmt.Errorf("fetching public-good trusted root: %w", err)
		}
		return &Trust{SigningConfig: sc, TrustedRoot: tr}, nil
	}
	sc, err := root.NewSigningConfigFromPath(signingConfigPath)
	if err != nil {
		return nil, fmt.Errorf("reading signing config %s: %w", signingConfigPath, err)
	}
	tr, err := root.NewTrustedRootFromPath(trustedRootPath)
	if err != nil {
		return nil, fmt.Errorf("reading trusted root %s: %w", trustedRootPath, err)
	}
	return &Trust{SigningConfig: sc, TrustedRoot: tr}, nil
}
