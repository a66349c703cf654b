package verification

import (
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// Identity is the signer a signature must come from: exact SAN and issuer,
// plus certificate extensions that must match exactly where set.
type Identity struct {
	// SAN is the certificate's subject alternative name.
	SAN string
	// Issuer is the OIDC issuer recorded in the certificate.
	Issuer string
	// Extensions are Fulcio extensions to require; empty fields are skipped.
	Extensions certificate.Extensions
}

// String describes the identity for messages.
func (id Identity) String() string {
	s := fmt.Sprintf("%s (issuer %s", id.SAN, id.Issuer)
	e := id.Extensions
	for _, kv := range [][2]string{
		{"repository", e.SourceRepositoryURI},
		{"ref", e.SourceRepositoryRef},
		{"commit", e.SourceRepositoryDigest},
	} {
		if kv[1] != "" {
			s += ", " + kv[0] + " " + kv[1]
		}
	}
	return s + ")"
}

// certificateIdentity is the identity as sigstore-go matches it: exact SAN
// and issuer, and the extensions that are set.
func (id Identity) certificateIdentity() (verify.CertificateIdentity, error) {
	san, err := verify.NewSANMatcher(id.SAN, "")
	if err != nil {
		return verify.CertificateIdentity{}, err
	}
	iss, err := verify.NewIssuerMatcher(id.Issuer, "")
	if err != nil {
		return verify.CertificateIdentity{}, err
	}
	return verify.NewCertificateIdentity(san, iss, id.Extensions)
}

// ExpectedIdentity is the identity Fulcio certifies for a token: for GitHub
// Actions the job workflow as SAN, the issuer, and the source repository,
// ref and commit extensions; for GitLab CI the CI config ref URI.
// serverURL is GITHUB_SERVER_URL ("" means https://github.com).
func ExpectedIdentity(tok *idtoken.Token, serverURL string) (Identity, error) {
	c := tok.Claims
	iss := tok.Issuer()
	if iss == "" {
		return Identity{}, fmt.Errorf("identity token has no issuer")
	}
	switch tok.Provider() {
	case idtoken.GitHubActions:
		if serverURL == "" {
			serverURL = "https://github.com"
		}
		serverURL = strings.TrimSuffix(serverURL, "/")
		return Identity{
			SAN:    serverURL + "/" + c.String("job_workflow_ref"),
			Issuer: iss,
			Extensions: certificate.Extensions{
				SourceRepositoryURI:    serverURL + "/" + c.String("repository"),
				SourceRepositoryRef:    c.String("ref"),
				SourceRepositoryDigest: c.String("sha"),
			},
		}, nil
	case idtoken.GitLabCI:
		// ci_config_ref_uri is <instance host>/<project>//<config>@<ref>,
		// and the SAN pins it exactly. Fulcio fills the Source Repository
		// URI from its url template value, not from a claim: https://gitlab.com
		// unless the Fulcio's operator configured the instance's own (public
		// Fulcio certifies dev.gitlab.org, ops.gitlab.net and
		// gitlab.archlinux.org jobs with https://gitlab.com/<project>), so it
		// is required only for gitlab.com.
		configURI := c.String("ci_config_ref_uri")
		host, _, _ := strings.Cut(configURI, "/")
		ext := certificate.Extensions{SourceRepositoryDigest: c.String("sha")}
		if host == "gitlab.com" {
			ext.SourceRepositoryURI = "https://gitlab.com/" + c.String("project_path")
		}
		return Identity{SAN: "https://" + configURI, Issuer: iss, Extensions: ext}, nil
	}
	return Identity{}, fmt.Errorf("identity token from %s is neither a GitHub Actions nor a GitLab CI token: cannot tell which identity to require", iss)
}
