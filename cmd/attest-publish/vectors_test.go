package main

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/verification"
)

// vectorCase is one entry of testdata/vectors/manifest.json.
type vectorCase struct {
	Name             string          `json:"name"`
	Kind             string          `json:"kind"`
	Expected         string          `json:"expected"`
	Format           string          `json:"format"`
	Group            string          `json:"group"`
	Files            []string        `json:"files"`
	Identity         *string         `json:"identity"`
	Issuer           *string         `json:"issuer"`
	Key              *string         `json:"key"`
	Bundle           *string         `json:"bundle"`
	Attestation      *string         `json:"attestation"`
	Artifact         *string         `json:"artifact"`
	ArtifactDigest   *string         `json:"artifact_digest"`
	DistributionName *string         `json:"distribution_name"`
	TrustedRoot      *string         `json:"trusted_root"`
	Policy           json.RawMessage `json:"policy"`
	Notes            string          `json:"notes"`
}

// vectorPolicy is a case's extra policy.
type vectorPolicy struct {
	SourceRepository    string `json:"source_repository"`
	SourceRepositoryRef string `json:"source_repository_ref"`
	BuildTrigger        string `json:"build_trigger"`
	SignerWorkflow      string `json:"signer_workflow"`
	SourceURI           string `json:"source_uri"`
	BuilderID           string `json:"builder_id"`
	SourceBranch        string `json:"source_branch"`
	SourceTag           string `json:"source_tag"`
	// Owner is gh's --owner: the certificate's Source Repository Owner
	// URI (--source-repository-owner).
	Owner string `json:"owner"`
	// PackageName and PackageVersion are slsa-verifier's npm
	// --package-name/--package-version: what the in-toto subject
	// (pkg:npm/name@version) names (--package-name, --package-version).
	PackageName    string `json:"package_name"`
	PackageVersion string `json:"package_version"`
	Publisher      *struct {
		Kind             string  `json:"kind"`
		Repository       string  `json:"repository"`
		Workflow         string  `json:"workflow"`
		WorkflowFilepath string  `json:"workflow_filepath"`
		Environment      *string `json:"environment"`
	} `json:"publisher"`
}

// policyFailures are fail cases that must fail for one named reason: the
// cryptographically valid ones that fail only a policy (the notes say so),
// and a few whose one defect is known.
var policyFailures = map[string][]string{
	"pep740-gitlab_oidc_project-0.0.3-wrong-workflow":     {verification.CheckPublisher},
	"pep740-rfc8785-0.1.2-digest-mismatch":                {verification.CheckSubject},
	"pep740-rfc8785-0.1.2-filename-mismatch":              {verification.CheckSubject},
	"slsa-bcr-module-bazel-wrong-signer":                  {verification.CheckIdentity},
	"slsa-byob-delegator-v2.1.0-wrong-source":             {verification.CheckSource},
	"slsa-generic-v2.1.0-wrong-branch":                    {verification.CheckSource},
	"slsa-generic-v2.1.0-untrusted-builder-id":            {verification.CheckBuilderID},
	"gh-sigstore-js-2.1.0-wrong-identity":                 {verification.CheckIdentity},
	"sg-othername-san-email-policy":                       {verification.CheckIdentity},
	"npm-supreme-goggles-1.0.5-invalid-publish-signature": {verification.CheckSignature},
	"gh-invalid-signature":                                {verification.CheckSignature},
}

// knownFailures are the (case, mode) runs that do not give the expected
// verdict, each with the reason: npm statements whose subjects carry only
// sha512, checked in digest mode with the manifest's sha256: digest, which
// cannot name them (path mode hashes the file with both and passes). They are asserted to still be wrong,
// so that fixing one forces its removal from this list.
var knownFailures = map[string]string{
	"gh-sigstore-js-2.1.0-v0.3/digest":                           "the in-toto subjects carry only sha512 digests (npm), which a sha256: digest cannot match",
	"gh-sigstore-js-2.1.0-jsonl-two-bundles/digest":              "the in-toto subjects carry only sha512 digests (npm), which a sha256: digest cannot match",
	"npm-gundam-visor-1.0.1-provenance/digest":                   "the in-toto subjects carry only sha512 digests (npm), which a sha256: digest cannot match",
	"npm-supreme-goggles-1.0.5-invalid-publish-signature/digest": "the in-toto subjects carry only sha512 digests (npm), which a sha256: digest cannot match (fails at the subject, not at the tampered publish signature)",
}

// vectorsDir returns the repository's copy of the test vectors,
// testdata/vectors (relative to this package's directory, where go test
// runs). A missing copy fails the test.
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "vectors")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatalf("test vectors missing from the repository's testdata/vectors: %v", err)
	}
	return dir
}

// loadVectors returns the test vectors' directory and its manifest's cases.
func loadVectors(t *testing.T) (string, []vectorCase) {
	t.Helper()
	dir := vectorsDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Cases) == 0 {
		t.Fatal("manifest lists no cases")
	}
	return dir, manifest.Cases
}

func TestVectors(t *testing.T) {
	dir, cases := loadVectors(t)
	type tally struct{ pass, known int }
	tallies := map[string]*tally{}
	seenKnown := map[string]bool{}
	for _, c := range cases {
		caseDir := filepath.Join(dir, c.Name)
		if c.Format == "tuf-root-metadata" {
			t.Run(c.Name, func(t *testing.T) { checkTUFRoot(t, dir, c) })
			continue
		}
		modes := []string{"path", "digest"}
		if _, sha512Only := knownFailures[c.Name+"/digest"]; sha512Only {
			// npm's subjects carry only sha512: given that digest, the
			// case must get its expected verdict too.
			modes = append(modes, "sha512")
		}
		for _, mode := range modes {
			id := c.Name + "/" + mode
			t.Run(id, func(t *testing.T) {
				if tallies[c.Group] == nil {
					tallies[c.Group] = &tally{}
				}
				verdict, check, out := runVector(t, caseDir, c, mode)
				ok := verdict == c.Expected
				if ok && c.Expected == "fail" {
					if want, isPolicy := policyFailures[c.Name]; isPolicy && !slices.Contains(want, check) {
						ok = false
						out = "failed for " + check + ", want " + strings.Join(want, "|") + "\n" + out
					}
				}
				if reason, known := knownFailures[id]; known {
					seenKnown[id] = true
					if ok {
						t.Errorf("known failure now gives the expected verdict: remove it from knownFailures (%s)", reason)
					} else {
						tallies[c.Group].known++
						t.Logf("known failure: %s", reason)
					}
					return
				}
				if !ok {
					t.Errorf("%s (%s): got %s, want %s\nnotes: %s\n%s", c.Name, mode, verdict, c.Expected, c.Notes, out)
					return
				}
				tallies[c.Group].pass++
			})
		}
	}
	for id := range knownFailures {
		if !seenKnown[id] {
			t.Errorf("knownFailures names %s, which the manifest does not produce", id)
		}
	}
	for g, tl := range tallies {
		t.Logf("group %-20s right %3d  known failures %3d", g, tl.pass, tl.known)
	}
}

// checkTUFRoot handles the one case that is TUF root metadata, not a
// bundle: "pass" means it parses as a TUF root.
func checkTUFRoot(t *testing.T, dir string, c vectorCase) {
	for _, f := range c.Files {
		if !strings.HasSuffix(f, ".json") || filepath.Base(f) == "expected.json" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var md struct {
			Signed struct {
				Type    string `json:"_type"`
				Version int    `json:"version"`
			} `json:"signed"`
			Signatures []json.RawMessage `json:"signatures"`
		}
		err = json.Unmarshal(data, &md)
		got := "pass"
		if err != nil || md.Signed.Type != "root" || md.Signed.Version < 1 || len(md.Signatures) == 0 {
			got = "fail"
		}
		if got != c.Expected {
			t.Errorf("%s: TUF root metadata %s: got %s, want %s (%v)", c.Name, f, got, c.Expected, err)
		}
	}
}

// vectorArgs maps a case onto verify's command line.
func vectorArgs(t *testing.T, dir string, c vectorCase, mode string) []string {
	t.Helper()
	in := func(p string) string { return filepath.Join(dir, p) }
	args := []string{"verify", "--format", "json"}
	if c.TrustedRoot != nil {
		args = append(args, "--trusted-root", in(*c.TrustedRoot))
	}
	if c.Bundle != nil {
		args = append(args, "--bundle", in(*c.Bundle))
	}
	if c.Attestation != nil {
		args = append(args, "--attestation", in(*c.Attestation))
	}
	if c.Key != nil {
		args = append(args, "--key", in(*c.Key))
	}
	switch {
	case c.Identity != nil:
		args = append(args, "--certificate-identity", *c.Identity)
	case c.Issuer != nil:
		// No exact SAN: the publisher/source policy is the identity.
		args = append(args, "--certificate-identity-regexp", ".*")
	}
	if c.Issuer != nil {
		args = append(args, "--certificate-oidc-issuer", *c.Issuer)
	}
	if len(c.Policy) > 0 && string(c.Policy) != "null" {
		var p vectorPolicy
		if err := json.Unmarshal(c.Policy, &p); err != nil {
			t.Fatalf("policy: %v", err)
		}
		for _, kv := range [][2]string{
			{"--source-repository", p.SourceRepository},
			{"--source-ref", p.SourceRepositoryRef},
			{"--build-trigger", p.BuildTrigger},
			{"--signer-workflow", p.SignerWorkflow},
			{"--source-uri", p.SourceURI},
			{"--builder-id", p.BuilderID},
			{"--source-branch", p.SourceBranch},
			{"--source-tag", p.SourceTag},
			{"--source-repository-owner", p.Owner},
			{"--package-name", p.PackageName},
			{"--package-version", p.PackageVersion},
		} {
			if kv[1] != "" {
				args = append(args, kv[0], kv[1])
			}
		}
		if pub := p.Publisher; pub != nil {
			wf := pub.Workflow
			if wf == "" {
				wf = pub.WorkflowFilepath
			}
			args = append(args, "--publisher-kind", strings.ToLower(pub.Kind), "--publisher-repository", pub.Repository, "--publisher-workflow", wf)
			if pub.Environment != nil && *pub.Environment != "" {
				args = append(args, "--publisher-environment", *pub.Environment)
			}
		}
	}
	var target string
	switch {
	case mode == "path" && c.Artifact != nil:
		target = in(*c.Artifact)
	case mode == "sha512" && c.Artifact != nil:
		data, err := os.ReadFile(in(*c.Artifact))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha512.Sum512(data)
		target = "sha512:" + hex.EncodeToString(sum[:])
	case c.ArtifactDigest != nil:
		target = *c.ArtifactDigest
	default:
		// No artifact at all (gh-invalid-signature): the bundle must fail
		// whatever it is checked against; use the empty file's digest.
		target = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	}
	if strings.HasPrefix(target, "sha256:") {
		switch {
		case c.DistributionName != nil:
			args = append(args, "--distribution-name", *c.DistributionName)
		case c.Artifact != nil:
			args = append(args, "--distribution-name", filepath.Base(*c.Artifact))
		}
	}
	return append(args, target)
}

// runVector runs verify for a case and returns "pass" or "fail", the
// failed check and the output. A case whose folder also holds an npm
// publish bundle and key.pub must verify that bundle with the key too.
func runVector(t *testing.T, dir string, c vectorCase, mode string) (verdict, check, out string) {
	t.Helper()
	runs := [][]string{vectorArgs(t, dir, c, mode)}
	hasFile := func(name string) bool {
		return slices.ContainsFunc(c.Files, func(f string) bool { return filepath.Base(f) == name })
	}
	if c.Key == nil && hasFile("publish.sigstore.json") && hasFile("key.pub") {
		pc := c
		pub, key := "publish.sigstore.json", "key.pub"
		pc.Bundle, pc.Key, pc.Attestation, pc.Identity, pc.Issuer, pc.Policy = &pub, &key, nil, nil, nil, nil
		runs = append(runs, vectorArgs(t, dir, pc, mode))
	}
	for _, args := range runs {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
		out += strings.Join(args, " ") + "\n" + stdout.String() + stderr.String()
		if code == 0 {
			continue
		}
		var results []verification.Result
		_ = json.Unmarshal(stdout.Bytes(), &results)
		for _, r := range results {
			if !r.Verified {
				check = r.FailedCheck
				break
			}
		}
		if check == "" {
			check = "usage"
		}
		return "fail", check, out
	}
	return "pass", "", out
}

// TestVectorPolicyFieldsBite takes every passing case whose policy names
// an owner or a package, changes that one field, and requires the case to
// fail for that field's check: the mapping must check something.
func TestVectorPolicyFieldsBite(t *testing.T) {
	dir, cases := loadVectors(t)
	mutations := []struct {
		field, check string
		change       func(p *vectorPolicy) bool
	}{
		{"owner", verification.CheckExtensions, func(p *vectorPolicy) bool { p.Owner += "-other"; return p.Owner != "-other" }},
		{"package_name", verification.CheckPackage, func(p *vectorPolicy) bool { p.PackageName += "-other"; return p.PackageName != "-other" }},
		{"package_version", verification.CheckPackage, func(p *vectorPolicy) bool {
			had := p.PackageVersion != ""
			p.PackageVersion = "9.9.9"
			return had
		}},
	}
	ran := 0
	for _, c := range cases {
		if c.Expected != "pass" || len(c.Policy) == 0 || string(c.Policy) == "null" {
			continue
		}
		for _, m := range mutations {
			var p vectorPolicy
			if err := json.Unmarshal(c.Policy, &p); err != nil {
				t.Fatal(err)
			}
			if !m.change(&p) {
				continue
			}
			ran++
			t.Run(c.Name+"/"+m.field, func(t *testing.T) {
				mc := c
				var err error
				if mc.Policy, err = json.Marshal(p); err != nil {
					t.Fatal(err)
				}
				verdict, check, out := runVector(t, filepath.Join(dir, c.Name), mc, "path")
				if verdict != "fail" || check != m.check {
					t.Errorf("with a wrong %s: got %s (check %q), want fail on %s\n%s", m.field, verdict, check, m.check, out)
				}
			})
		}
	}
	if ran < 3 {
		t.Errorf("only %d owner/package mutations ran: the manifest should have cases with each field", ran)
	}
}
