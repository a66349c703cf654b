package verification

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/ghinstance"
)

// GitHub's own Sigstore instance (private and internal repositories) issues
// certificates from a CA whose Organization is "GitHub, Inc.", gives signed
// time by RFC 3161 only and has no transparency log. As the GitHub CLI
// does, the checker picks the trust for a bundle by its certificate's
// issuer: GitHub's trusted root for GitHub's certificates, the other root
// for everything else. GitHub's root comes from a --trusted-root JSONL file
// holding several roots (what `gh attestation trusted-root` prints) or from
// TUF (AddGitHub with ghinstance.FetchTrustedRoot).

// errNoGitHubRoot is the failure for a GitHub-issued certificate when no
// GitHub trusted root was given.
var errNoGitHubRoot = errors.New("the certificate was issued by GitHub's own Sigstore instance (attestations of private and internal repositories), whose trusted root was not given: pass --github-instance to fetch it over TUF, or --trusted-root with a JSONL file holding it (`gh attestation trusted-root` prints one)")

// isGitHubRoot reports whether a trusted root is GitHub's instance's: one
// of its certificate authorities is GitHub's.
func isGitHubRoot(tr *root.TrustedRoot) bool {
	for _, ca := range tr.FulcioCertificateAuthorities() {
		fca, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok {
			continue
		}
		certs := append(slices.Clone(fca.Intermediates), fca.Root)
		for _, c := range certs {
			if c != nil && slices.Contains(c.Subject.Organization, ghinstance.IssuerOrganization) {
				return true
			}
		}
	}
	return false
}

// trustFromRoots splits roots into GitHub's and the others and builds the
// trust: the others verify every certificate not issued by GitHub.
func trustFromRoots(path string, roots []*root.TrustedRoot, keyPath string) (*Trust, error) {
	var others, github []*root.TrustedRoot
	for _, tr := range roots {
		if isGitHubRoot(tr) {
			github = append(github, tr)
		} else {
			others = append(others, tr)
		}
	}
	if len(github) > 1 || len(others) > 1 {
		return nil, fmt.Errorf("loading trusted root %s: %d trusted roots of GitHub's instance and %d others: give at most one of each", path, len(github), len(others))
	}
	var t *Trust
	var err error
	if len(others) == 1 {
		if t, err = newTrust(others[0], keyPath); err != nil {
			return nil, err
		}
	} else {
		if keyPath != "" {
			return nil, fmt.Errorf("loading trusted root %s: --key needs a root with a transparency log or timestamp authority, not only GitHub's instance", path)
		}
		t = &Trust{githubOnly: true}
	}
	if len(github) == 1 {
		t.AddGitHub(github[0])
	}
	return t, nil
}

// AddGitHub makes tr (GitHub's instance's trusted root) the trust for
// certificates GitHub issued.
func (t *Trust) AddGitHub(tr *root.TrustedRoot) {
	t.github = &Trust{material: tr, hasTlogs: len(tr.RekorLogs()) > 0, hasCT: len(tr.CTLogs()) > 0, isGitHub: true}
}

// HasGitHub reports whether GitHub's instance is trusted too.
func (t *Trust) HasGitHub() bool { return t.github != nil }

// route picks the checker for a bundle by who issued its certificate.
func (c *Checker) route(entity *parsedEntity) (*Checker, error) {
	if c.trust.keyed || c.trust.isGitHub {
		return c, nil
	}
	leaf := leafOf(entity)
	if leaf == nil {
		if c.trust.githubOnly {
			return nil, errors.New("the trusted root given holds only GitHub's instance, and this bundle has no certificate")
		}
		return c, nil
	}
	if ghinstance.IsGitHubCertificate(leaf) {
		if c.github == nil {
			return nil, errNoGitHubRoot
		}
		return c.github, nil
	}
	if c.trust.githubOnly {
		return nil, fmt.Errorf("the trusted root given holds only GitHub's instance, and this certificate was issued by %q: add that instance's root (--trusted-root JSONL) or leave --trusted-root out for public-good", leaf.Issuer.String())
	}
	return c, nil
}

// leafOf returns the bundle's leaf certificate, or nil.
func leafOf(entity *parsedEntity) *x509.Certificate {
	vc, err := entity.VerificationContent()
	if err != nil || vc == nil {
		return nil
	}
	return vc.Certificate()
}

// requireSignedTime is GitHub's instance's rule (the GitHub CLI's too): at
// least one RFC 3161 timestamp, since there is no log to give time.
func requireSignedTime(entity *parsedEntity) error {
	ts, err := entity.Timestamps()
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return errors.New("GitHub's Sigstore instance gives signed time by RFC 3161 timestamp, and this bundle has none")
	}
	return nil
}
