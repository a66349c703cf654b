package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/provenance"
)

// SupportedPredicateTypes are the predicate types PyPI accepts in PEP 740
// attestations (warehouse SUPPORTED_ATTESTATION_TYPES), at most one of each
// per file.
var SupportedPredicateTypes = []string{provenance.PublishPredicateType, provenance.SLSAPredicateType}

// MaxAttestationsPerFile is PyPI's limit: one per supported predicate type.
const MaxAttestationsPerFile = 2

// preferredSuffix is the name this tool gives each type's attestation,
// kept when there are several.
var preferredSuffix = map[string]string{
	provenance.PublishPredicateType: dists.PublishAttestationSuffix,
	provenance.SLSAPredicateType:    dists.SLSAAttestationSuffix,
}

// checkAttestations refuses, for PyPI, more than one attestation of a
// predicate type for one file, and attestations PyPI cannot take: an
// unsupported predicate type, or a file that is not a readable PEP 740
// attestation (PredicateType ""). With those gone at most one of each
// supported type is left, so PyPI's limit of two per file holds; the
// message says when that limit is what would fail first.
func checkAttestations(o *Options, ds []parsedDist) []Finding {
	if !o.PyPI || !o.Attestations {
		return nil
	}
	var out []Finding
	for _, d := range ds {
		sc := dedupe(o.Sidecars[d.Filename])
		if len(sc) == 0 {
			continue
		}
		total := ""
		if len(sc) > MaxAttestationsPerFile {
			total = fmt.Sprintf(` PyPI also takes at most %d attestations per file ("A maximum of %d attestations per file are supported"), and %d would be sent: %s.`,
				MaxAttestationsPerFile, MaxAttestationsPerFile, len(sc), quoteNames(sc))
		}
		byType := map[string][]Sidecar{}
		for _, s := range sc {
			byType[s.PredicateType] = append(byType[s.PredicateType], s)
		}
		for _, t := range SupportedPredicateTypes {
			list := byType[t]
			if len(list) < 2 {
				continue
			}
			keep, extra := preferred(d.Filename, t, list)
			out = append(out, Finding{
				Check:    CheckAttestationCount,
				Severity: Error,
				File:     d.Filename,
				Message: fmt.Sprintf(`%d attestations of predicate type %q would be uploaded with it (%s): PyPI takes one per predicate type ("Multiple attestations for the same file with the same predicate type (%s) are not supported").`,
					len(list), t, quoteNames(list), t) + total,
				Fix: fmt.Sprintf(`Keep %q and remove %s from the packages directory (uv publish and twine upload every <dist>.*.attestation file next to a dist).`,
					keep.Name, quoteNames(extra)),
			})
			total = ""
		}
		for _, s := range sc {
			var msg string
			switch {
			case s.PredicateType == "":
				msg = fmt.Sprintf(`%q would be uploaded with it but is not a readable PEP 740 attestation, so PyPI refuses the upload ("Malformed attestations: …").`, s.Name)
			case !isSupported(s.PredicateType):
				msg = fmt.Sprintf(`%q has predicate type %q, which PyPI does not take ("Attestation with unsupported predicate type: %s"); it takes %q and %q only.`,
					s.Name, s.PredicateType, s.PredicateType, SupportedPredicateTypes[0], SupportedPredicateTypes[1])
			default:
				continue
			}
			out = append(out, Finding{
				Check:    CheckAttestationType,
				Severity: Error,
				File:     d.Filename,
				Message:  msg + total,
				Fix:      fmt.Sprintf(`Remove %q from the packages directory, or keep it out of the upload.`, s.Name),
			})
			total = ""
		}
	}
	return out
}

func isSupported(t string) bool {
	for _, s := range SupportedPredicateTypes {
		if s == t {
			return true
		}
	}
	return false
}

// dedupe sorts sidecars by name and drops repeated names, keeping the last
// entry of a name that has a predicate type: an attestation this run makes
// replaces an unreadable file of the same name.
func dedupe(in []Sidecar) []Sidecar {
	out := append([]Sidecar(nil), in...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	n := 0
	for i, s := range out {
		if i > 0 && s.Name != "" && s.Name == out[n-1].Name {
			if s.PredicateType != "" {
				out[n-1] = s
			}
			continue
		}
		out[n] = s
		n++
	}
	return out[:n]
}

// preferred picks the attestation to keep among several of one type: the
// one named as this tool names it, else the first by name.
func preferred(dist, predicateType string, list []Sidecar) (keep Sidecar, extra []Sidecar) {
	k := 0
	for i, s := range list {
		if s.Name == dist+preferredSuffix[predicateType] {
			k = i
			break
		}
	}
	for i, s := range list {
		if i != k {
			extra = append(extra, s)
		}
	}
	return list[k], extra
}

func quoteNames(list []Sidecar) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s.Name)
	}
	return strings.Join(q, ", ")
}

// maxAttestationFile bounds what ReadSidecars reads of one attestation (a
// PEP 740 object is a few KiB: a certificate, a log entry, a statement).
const maxAttestationFile = 4 << 20

// ReadSidecars lists, for each dist, the attestation files next to it that
// uv publish and twine would upload with it: <dist filename>.<word>.attestation
// in the dist's directory. Each is read as a PEP 740 attestation for its
// statement's predicate type; one that is not a regular file or does not
// read as one gets PredicateType "". The error is for a directory that
// cannot be listed.
func ReadSidecars(ds []*dists.Dist) (map[string][]Sidecar, error) {
	out := map[string][]Sidecar{}
	byDir := map[string][]*dists.Dist{}
	for _, d := range ds {
		if d != nil {
			dir := filepath.Dir(d.Path)
			byDir[dir] = append(byDir[dir], d)
		}
	}
	dirs := make([]string, 0, len(byDir))
	for dir := range byDir {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("listing attestations: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".attestation") {
				continue
			}
			for _, d := range byDir[dir] {
				word, ok := strings.CutPrefix(name, d.Filename+".")
				if !ok || word == "attestation" {
					continue
				}
				s := Sidecar{Name: name}
				if e.Type().IsRegular() {
					s.PredicateType = predicateType(filepath.Join(dir, name))
				}
				out[d.Filename] = append(out[d.Filename], s)
			}
		}
	}
	return out, nil
}

// predicateType reads a PEP 740 attestation file's statement predicate
// type, or "" when it cannot.
func predicateType(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAttestationFile+1))
	if err != nil || len(data) > maxAttestationFile {
		return ""
	}
	a, err := pep740.Parse(data)
	if err != nil {
		return ""
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(a.Envelope.Statement, &st) != nil {
		return ""
	}
	return st.PredicateType
}
