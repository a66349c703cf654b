// Package ghinstance describes GitHub's own Sigstore instance, the one
// actions/attest signs with for private and internal repositories: its
// endpoints (Fulcio and an RFC 3161 timestamp authority, no transparency
// log), its TUF repository, and how to recognise its certificates.
package ghinstance

import (
	"crypto/x509"
	_ "embed"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// IssuerOrganization is the Organization of the CA that issues GitHub's
// Sigstore certificates (the GitHub CLI picks its verifier by it).
const IssuerOrganization = "GitHub, Inc."

// TUFMirror is GitHub's Sigstore TUF repository for github.com.
const TUFMirror = "https://tuf-repo.github.com"

// tufRoot is the TUF root metadata the GitHub CLI embeds (see embedded/README.md).
//
//go:embed embedded/tuf-repo.github.com.root.json
var tufRoot []byte

// Endpoints are the service URLs of GitHub's Sigstore instance for one
// GitHub server.
type Endpoints struct {
	// Fulcio is the certificate authority's base URL.
	Fulcio string
	// TSA is the RFC 3161 timestamp endpoint.
	TSA string
}

// EndpointsFor returns the instance serving serverURL: fulcio.githubapp.com
// and timestamp.githubapp.com for https://github.com (or an empty URL), and
// fulcio.<tenant>.ghe.com / timestamp.<tenant>.ghe.com for GitHub Enterprise
// Cloud with data residency. Other hosts (GitHub Enterprise Server) have no
// Sigstore instance, as actions/attest also refuses them.
func EndpointsFor(serverURL string) (Endpoints, error) {
	if serverURL == "" {
		serverURL = "https://github.com"
	}
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return Endpoints{}, fmt.Errorf("GitHub server URL %q: want https://github.com or https://<tenant>.ghe.com", serverURL)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "github.com":
		return Endpoints{Fulcio: "https://fulcio.githubapp.com", TSA: "https://timestamp.githubapp.com/api/v1/timestamp"}, nil
	case strings.HasSuffix(host, ".ghe.com") && strings.Count(host, ".") == 2:
		tenant := strings.TrimSuffix(host, ".ghe.com")
		return Endpoints{
			Fulcio: "https://fulcio." + tenant + ".ghe.com",
			TSA:    "https://timestamp." + tenant + ".ghe.com/api/v1/timestamp",
		}, nil
	}
	return Endpoints{}, fmt.Errorf("GitHub server %s has no Sigstore instance (GitHub Enterprise Server is not supported): use public-good Sigstore or pass --signing-config and --trusted-root", host)
}

// SigningConfig returns a Sigstore signing config naming the instance's
// Fulcio and timestamp authority, and no transparency log: GitHub's
// instance gives signed time by RFC 3161 only.
func SigningConfig(serverURL string) (*root.SigningConfig, error) {
	ep, err := EndpointsFor(serverURL)
	if err != nil {
		return nil, err
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fulcio := root.Service{URL: ep.Fulcio, MajorAPIVersion: 1, ValidityPeriodStart: start, Operator: "github.com"}
	tsa := root.Service{URL: ep.TSA, MajorAPIVersion: 1, ValidityPeriodStart: start, Operator: "github.com"}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{fulcio}, nil,
		nil, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		[]root.Service{tsa}, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		return nil, fmt.Errorf("GitHub Sigstore signing config: %w", err)
	}
	return sc, nil
}

// TUFOptions returns sigstore-go TUF options for GitHub's repository,
// starting from the embedded root and caching under
// ~/.sigstore/root like sigstore-go's default client.
func TUFOptions() *tuf.Options {
	opts := tuf.DefaultOptions().WithFetcher(netguard.TUFFetcher())
	opts.Root = tufRoot
	opts.RepositoryBaseURL = TUFMirror
	if home, err := os.UserHomeDir(); err == nil {
		opts.CachePath = filepath.Join(home, ".sigstore", "root")
	}
	return opts
}

// FetchTrustedRoot fetches the instance's trusted_root.json over TUF
// (network).
func FetchTrustedRoot() (*root.TrustedRoot, error) {
	return fetchTrustedRoot(TUFOptions())
}

// fetchTrustedRoot fetches trusted_root.json over TUF with opts, so tests
// can point the client at a local repository and trust anchor.
func fetchTrustedRoot(opts *tuf.Options) (*root.TrustedRoot, error) {
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("fetching GitHub's Sigstore trusted root from %s: %w", opts.RepositoryBaseURL, err)
	}
	return tr, nil
}

// IsGitHubCertificate reports whether cert was issued by GitHub's Sigstore
// instance, judged by its issuer's Organization as the GitHub CLI does.
// It selects trust material; it is not itself a trust decision.
func IsGitHubCertificate(cert *x509.Certificate) bool {
	return cert != nil && slices.Contains(cert.Issuer.Organization, IssuerOrganization)
}
