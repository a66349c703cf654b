package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/attest-publish/attest-publish/internal/verification"
)

// verifyFlags are the command line of verify, before they become a policy.
type verifyFlags struct {
	bundles, attestations           []string
	trustedRoot, key, format        string
	staging, tuf                    bool
	githubInstance                  bool
	distributionName                string
	identity, identityRegexp        string
	issuer, issuerRegexp            string
	sourceRepository, sourceRef     string
	sourceRepositoryOwner           string
	packageName, packageVersion     string
	sourceDigest, signerWorkflow    string
	buildTrigger                    string
	denySelfHosted                  bool
	predicateType, builderID        string
	sourceURI, sourceBranch         string
	sourceTag                       string
	publisherKind, publisherRepo    string
	publisherWorkflow, publisherEnv string
	repository                      string
	provenanceConsistency           bool
	timestampThreshold              int
	fetch                           fetchFlags
	gitlab                          gitlabVerifyFlags
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func (f *verifyFlags) register(fs *flag.FlagSet) {
	fs.Var((*stringList)(&f.bundles), "bundle", "Sigstore bundle (v0.1–v0.3 JSON, or JSONL: any line that satisfies the policy counts, every line is reported); repeatable")
	fs.Var((*stringList)(&f.attestations), "attestation", "PEP 740 attestation object, or PyPI Integrity API provenance object; repeatable")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json (default: the embedded public-good snapshot, or staging's with --staging)")
	fs.BoolVar(&f.staging, "staging", false, "trust Sigstore's staging instance instead of public-good (embedded snapshot, or live with --tuf)")
	fs.BoolVar(&f.tuf, "tuf", false, "fetch the current trusted root with sigstore-go's TUF client (network; cached in ~/.sigstore)")
	fs.BoolVar(&f.githubInstance, "github-instance", false, "also trust GitHub's own Sigstore instance (private repositories), its root fetched over TUF from tuf-repo.github.com (network); certificates GitHub issued are verified against it")
	fs.StringVar(&f.key, "key", "", "PEM public key the bundle must be signed with (cosign generate-key-pair's cosign.pub works)")
	fs.StringVar(&f.format, "format", "text", "output: text or json")
	fs.StringVar(&f.distributionName, "distribution-name", "", "dist filename PEP 740 subjects must name when the artifact is given as a digest")
	fs.StringVar(&f.identity, "certificate-identity", "", "exact certificate SAN to require")
	fs.StringVar(&f.identityRegexp, "certificate-identity-regexp", "", "RE2 the whole SAN must match (anchored: ^(?:…)$)")
	fs.StringVar(&f.issuer, "certificate-oidc-issuer", "", "exact OIDC issuer to require")
	fs.StringVar(&f.issuerRegexp, "certificate-oidc-issuer-regexp", "", "RE2 the whole issuer must match (anchored: ^(?:…)$)")
	fs.StringVar(&f.sourceRepository, "source-repository", "", "certificate Source Repository URI (owner/repo or URL)")
	fs.StringVar(&f.sourceRepositoryOwner, "source-repository-owner", "", "certificate Source Repository Owner URI (owner or URL; gh's --owner)")
	fs.StringVar(&f.sourceRef, "source-ref", "", "certificate Source Repository Ref (refs/heads/…, refs/tags/…)")
	fs.StringVar(&f.sourceDigest, "source-digest", "", "certificate Source Repository Digest (commit)")
	fs.StringVar(&f.signerWorkflow, "signer-workflow", "", "workflow that signed: [host/]owner/repo/path[@ref]")
	fs.StringVar(&f.buildTrigger, "build-trigger", "", "certificate Build Trigger (event name, e.g. release)")
	fs.BoolVar(&f.denySelfHosted, "deny-self-hosted-runners", false, "require certificate Runner Environment github-hosted")
	fs.StringVar(&f.predicateType, "predicate-type", "", "in-toto predicate type to require")
	fs.StringVar(&f.builderID, "builder-id", "", "SLSA builder id (without @ref: any ref)")
	fs.StringVar(&f.sourceURI, "source-uri", "", "SLSA provenance source repository (github.com/owner/repo or URL)")
	fs.StringVar(&f.sourceBranch, "source-branch", "", "SLSA provenance source branch")
	fs.StringVar(&f.sourceTag, "source-tag", "", "SLSA provenance source tag")
	fs.StringVar(&f.packageName, "package-name", "", "package the in-toto subject must name (npm pkg:npm/ URL, or Python dist filename: PEP 503-normalized)")
	fs.StringVar(&f.packageVersion, "package-version", "", "version the in-toto subject must name")
	fs.StringVar(&f.repository, "repository", "", "the repository that built and signed, https://github.com/OWNER/REPO or https://gitlab.com/GROUP[/SUBGROUP…]/PROJECT (a trailing / or .git is dropped): "+
		"requires a certificate of any workflow of it at any ref, its host's issuer (GitHub Actions', or gitlab.com's), it as Source Repository URI, and it as the PEP 740 publisher as PyPI checks one, all compared exactly, case included. "+
		"--signer-workflow and --publisher-workflow narrow it; --certificate-oidc-issuer replaces only the issuer (another instance playing that host, such as a test stack); "+
		"--certificate-identity(-regexp), --certificate-oidc-issuer-regexp, --source-repository, --publisher-kind, --publisher-repository and --key are refused with it")
	fs.StringVar(&f.publisherKind, "publisher-kind", "", "PEP 740 trusted publisher: github or gitlab")
	fs.StringVar(&f.publisherRepo, "publisher-repository", "", "publisher repository (owner/repo, GitLab namespace/project)")
	fs.StringVar(&f.publisherWorkflow, "publisher-workflow", "", "publisher workflow: file name (GitHub) or CI file path (GitLab)")
	fs.StringVar(&f.publisherEnv, "publisher-environment", "", "publisher deployment environment (not in certificates: refused for now)")
	fs.BoolVar(&f.provenanceConsistency, "provenance-consistency", true, "cross-check SLSA provenance against the certificate that signed it (=false: judge only what a Sigstore client judges, as the conformance client does)")
	fs.IntVar(&f.timestampThreshold, "timestamp-threshold", 1, "verified timestamps a bundle needs: 0 or 1 = one RFC 3161 timestamp or Rekor v1 integrated time (sigstore-go's and sigstore-python's rule); N > 1 = N distinct RFC 3161 timestamp authorities. One that does not verify is ignored with a warning")
	f.fetch.register(fs)
	f.gitlab.register(fs)
}

// policy turns the flags into a verification policy, refusing incomplete
// or contradictory combinations.
func (f *verifyFlags) policy() (verification.Policy, error) {
	p := verification.Policy{
		SAN:            f.identity,
		SANRegexp:      f.identityRegexp,
		Issuer:         f.issuer,
		IssuerRegexp:   f.issuerRegexp,
		SignerWorkflow: f.signerWorkflow,
		PredicateType:  f.predicateType,
		BuilderID:      f.builderID,
		SourceURI:      f.sourceURI,
		SourceBranch:   f.sourceBranch,
		SourceTag:      f.sourceTag,
		PackageName:    f.packageName,
		PackageVersion: f.packageVersion,

		SkipProvenanceConsistency: !f.provenanceConsistency,
		TimestampThreshold:        f.timestampThreshold,
	}
	if f.timestampThreshold < 0 || f.timestampThreshold > 32 {
		return p, usageError{fmt.Sprintf("--timestamp-threshold %d: want 1 to 32 (a bundle carries at most 32 timestamps)", f.timestampThreshold)}
	}
	if f.sourceRepository != "" {
		u, err := verification.NormalizeRepositoryURL(f.sourceRepository)
		if err != nil {
			return p, usageError{"--source-repository: " + err.Error()}
		}
		p.Extensions.SourceRepositoryURI = u
	}
	if f.sourceRepositoryOwner != "" {
		u, err := verification.NormalizeOwnerURL(f.sourceRepositoryOwner)
		if err != nil {
			return p, usageError{"--source-repository-owner: " + err.Error()}
		}
		p.Extensions.SourceRepositoryOwnerURI = u
	}
	p.Extensions.SourceRepositoryRef = f.sourceRef
	p.Extensions.SourceRepositoryDigest = f.sourceDigest
	p.Extensions.BuildTrigger = f.buildTrigger
	if f.denySelfHosted {
		p.Extensions.RunnerEnvironment = "github-hosted"
	}
	if f.repository != "" {
		if err := f.requireRepository(&p); err != nil {
			return p, err
		}
	} else if f.publisherKind != "" || f.publisherRepo != "" || f.publisherWorkflow != "" || f.publisherEnv != "" {
		kind := verification.PublisherKind(strings.ToLower(f.publisherKind))
		if kind == "" {
			return p, usageError{"--publisher-repository, --publisher-workflow and --publisher-environment need --publisher-kind github|gitlab"}
		}
		if f.publisherRepo == "" || f.publisherWorkflow == "" {
			return p, usageError{"--publisher-kind needs --publisher-repository and --publisher-workflow"}
		}
		p.Publisher = &verification.Publisher{Kind: kind, Repository: f.publisherRepo, Workflow: f.publisherWorkflow, Environment: f.publisherEnv}
	}
	if err := p.Validate(f.key != ""); err != nil {
		return p, usageError{fmt.Sprintf("policy: %v", err)}
	}
	return p, nil
}

// requireRepository makes p the policy --repository implies, narrowed by
// --signer-workflow, --publisher-workflow and --publisher-environment and
// with the issuer replaced by --certificate-oidc-issuer; the flags that
// would name the identity, repository or publisher a second time are
// refused.
func (f *verifyFlags) requireRepository(p *verification.Policy) error {
	for _, c := range []struct{ flag, value string }{
		{"--certificate-identity", f.identity},
		{"--certificate-identity-regexp", f.identityRegexp},
		{"--certificate-oidc-issuer-regexp", f.issuerRegexp},
		{"--source-repository", f.sourceRepository},
		{"--publisher-kind", f.publisherKind},
		{"--publisher-repository", f.publisherRepo},
		{"--key", f.key},
	} {
		if c.value != "" {
			return usageError{"--repository implies the identity, issuer, source repository and publisher: drop " + c.flag +
				" (narrow with --signer-workflow or --publisher-workflow; --certificate-oidc-issuer replaces the issuer)"}
		}
	}
	r, err := verification.ParseRepository(f.repository)
	if err != nil {
		return usageError{"--repository: " + err.Error()}
	}
	if f.publisherWorkflow != "" || f.publisherEnv != "" {
		p.Publisher = &verification.Publisher{Workflow: f.publisherWorkflow, Environment: f.publisherEnv}
	}
	if err := p.RequireRepository(r); err != nil {
		return usageError{"--repository: " + err.Error()}
	}
	return nil
}
