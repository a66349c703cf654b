package signing

import (
	"testing"

	"github.com/attest-publish/attest-publish/internal/ghinstance"
)

// GitHub's instance signs with Fulcio and a TSA only; selection must accept
// a config without a transparency log.
func TestSelectServicesGitHubInstance(t *testing.T) {
	sc, err := ghinstance.SigningConfig("https://github.com")
	if err != nil {
		t.Fatal(err)
	}
	s, err := SelectServices(sc, SelectOptions{})
	if err != nil {
		t.Fatalf("SelectServices: %v", err)
	}
	if s.FulcioURL != "https://fulcio.githubapp.com" || len(s.TSAURLs) != 1 || s.TSAURLs[0] != "https://timestamp.githubapp.com/api/v1/timestamp" || len(s.Rekors) != 0 {
		t.Errorf("services = %+v", s)
	}
	if _, err := LoadGitHubTrust("https://ghes.example.com"); err == nil {
		t.Error("GHES accepted")
	}
}
