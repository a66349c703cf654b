package verification

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// checkSubject checks the artifact against the statement's subjects: for
// PEP 740, exactly one subject whose name is the dist's filename (compared
// after parsing) and whose sha256 matches; otherwise any subject with a
// matching sha256 (or sha512 when the file is at hand).
func checkSubject(st *intoto.Statement, a Artifact, pep740 bool) (*intoto.ResourceDescriptor, error) {
	if st == nil {
		return nil, fail(CheckSubject, "DSSE payload is not an in-toto statement")
	}
	want256 := hex.EncodeToString(a.SHA256)
	if pep740 {
		if a.SHA256 == nil {
			return nil, fail(CheckSubject, "PEP 740 subjects are named by sha256: give the file or its sha256: digest")
		}
		sub, err := pep740Subject(st, a.Filename, a.SHA256)
		if err != nil {
			return nil, &CheckError{Check: CheckSubject, Err: err}
		}
		return sub, nil
	}
	want512 := ""
	if a.SHA512 != nil {
		want512 = hex.EncodeToString(a.SHA512)
	}
	for _, s := range st.GetSubject() {
		d := s.GetDigest()
		if (want256 != "" && strings.EqualFold(d["sha256"], want256)) || (want512 != "" && strings.EqualFold(d["sha512"], want512)) {
			return s, nil
		}
	}
	if want256 == "" {
		return nil, fail(CheckSubject, "no statement subject has the artifact's digest sha512:%s", want512)
	}
	return nil, fail(CheckSubject, "no statement subject has the artifact's digest sha256:%s", want256)
}

// pep740Subject checks a PEP 740 statement's subjects the way PyPI does:
// exactly one, whose name is the dist's filename (compared after parsing,
// see SameDistFilename) and whose sha256 is the dist's.
func pep740Subject(st *intoto.Statement, filename string, sha256 []byte) (*intoto.ResourceDescriptor, error) {
	subs := st.GetSubject()
	if len(subs) != 1 {
		return nil, fmt.Errorf("statement has %d subjects, PEP 740 wants exactly one", len(subs))
	}
	if filename == "" {
		return nil, errors.New("the dist's filename is needed for a PEP 740 attestation: give the file, or its name with the digest")
	}
	if err := SameDistFilename(subs[0].GetName(), filename); err != nil {
		return nil, err
	}
	want := hex.EncodeToString(sha256)
	if got := strings.ToLower(subs[0].GetDigest()["sha256"]); got != want {
		return nil, fmt.Errorf("subject sha256 %q does not match the dist's %s", got, want)
	}
	return subs[0], nil
}

// SameDistFilename compares two distribution filenames the way PyPI does:
// after parsing, with the project name canonicalized, the version
// normalized and, for wheels, each compressed tag set compared as a set.
func SameDistFilename(subject, dist string) error {
	a, err := dists.ParseFilename(subject)
	if err != nil {
		return fmt.Errorf("subject name %q is not a distribution filename: %w", subject, err)
	}
	b, err := dists.ParseFilename(dist)
	if err != nil {
		return fmt.Errorf("%q is not a distribution filename: %w", dist, err)
	}
	if a.Kind != b.Kind || a.CanonicalName() != b.CanonicalName() || a.Version != b.Version || wheelTags(subject) != wheelTags(dist) {
		return fmt.Errorf("subject name %q does not name the distribution %q", subject, dist)
	}
	if a.Kind == dists.Sdist && archiveSuffix(subject) != archiveSuffix(dist) {
		return fmt.Errorf("subject name %q does not name the distribution %q", subject, dist)
	}
	return nil
}

// archiveSuffix is an sdist filename's archive suffix.
func archiveSuffix(name string) string {
	if strings.HasSuffix(name, ".zip") {
		return ".zip"
	}
	return ".tar.gz"
}

// wheelTags is a wheel's build tag and python, abi and platform tag sets,
// each sorted; "" for an sdist.
func wheelTags(name string) string {
	base, ok := strings.CutSuffix(name, ".whl")
	if !ok {
		return ""
	}
	parts := strings.Split(base, "-")
	if len(parts) < 5 {
		return base
	}
	out := []string{}
	if len(parts) == 6 {
		out = append(out, parts[2])
	}
	for _, set := range parts[len(parts)-3:] {
		tags := strings.Split(strings.ToLower(set), ".")
		sort.Strings(tags)
		out = append(out, strings.Join(tags, "."))
	}
	return strings.Join(out, "-")
}

// checkPackage checks that an in-toto subject name names the package and
// version asked for (either may be empty): an npm package URL
// (pkg:npm/name@version, pkg:npm/%40scope/name@version) or a Python dist
// filename.
func checkPackage(subject, name, version string) error {
	if purl, ok := strings.CutPrefix(subject, "pkg:npm/"); ok {
		purl, _, _ = strings.Cut(purl, "?")
		at := strings.LastIndex(purl, "@")
		if at <= 0 {
			return fmt.Errorf("subject %q: npm package URL without a version", subject)
		}
		gotName, err := url.PathUnescape(purl[:at])
		if err != nil {
			return fmt.Errorf("subject %q: %w", subject, err)
		}
		gotVersion := purl[at+1:]
		if name != "" && gotName != name {
			return fmt.Errorf("subject %q names npm package %q, want %q", subject, gotName, name)
		}
		if version != "" && gotVersion != version {
			return fmt.Errorf("subject %q names version %q, want %q", subject, gotVersion, version)
		}
		return nil
	}
	f, err := dists.ParseFilename(subject)
	if err != nil {
		return fmt.Errorf("subject %q names neither an npm package (pkg:npm/…) nor a Python distribution: %w", subject, err)
	}
	if name != "" && f.CanonicalName() != dists.CanonicalizeName(name) {
		return fmt.Errorf("subject %q names project %q, want %q", subject, f.Name, name)
	}
	if version != "" {
		want, ok := dists.NormalizeVersion(version)
		if !ok {
			return fmt.Errorf("package version %q is not a PEP 440 version", version)
		}
		if f.Version != want {
			return fmt.Errorf("subject %q names version %q, want %q", subject, f.Version, want)
		}
	}
	return nil
}

// HasSubjects checks that a statement has the predicate type and names
// every given artifact (name → sha256) with its digest.
func HasSubjects(st *intoto.Statement, predicateType string, want map[string][]byte) error {
	if st == nil {
		return fmt.Errorf("no in-toto statement")
	}
	if st.GetPredicateType() != predicateType {
		return fmt.Errorf("predicate type %q, want %q", st.GetPredicateType(), predicateType)
	}
	have := map[string]string{}
	for _, s := range st.GetSubject() {
		have[s.GetName()] = s.GetDigest()["sha256"]
	}
	for name, d := range want {
		got, ok := have[name]
		if !ok {
			return fmt.Errorf("statement does not name %s", name)
		}
		if got != hex.EncodeToString(d) {
			return fmt.Errorf("statement gives %s sha256 %s, the file has %s", name, got, hex.EncodeToString(d))
		}
	}
	return nil
}
