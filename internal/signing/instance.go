package signing

import (
	"fmt"

	"github.com/attest-publish/attest-publish/internal/ghinstance"
)

// LoadGitHubTrust returns the trust of GitHub's own Sigstore instance (the
// one actions/attest uses for private repositories): its signing config
// (Fulcio and a timestamp authority, no transparency log) and its trusted
// root fetched over TUF from tuf-repo.github.com (network). serverURL is
// $GITHUB_SERVER_URL; GitHub Enterprise Server has no instance.
func LoadGitHubTrust(serverURL string) (*Trust, error) {
	sc, err := ghinstance.SigningConfig(serverURL)
	if err != nil {
		return nil, err
	}
	tr, err := ghinstance.FetchTrustedRoot()
	if err != nil {
		return nil, fmt.Errorf("GitHub's Sigstore instance: %w", err)
	}
	return &Trust{SigningConfig: sc, TrustedRoot: tr}, nil
}
