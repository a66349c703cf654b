package verification

import (
	"encoding/hex"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
)

// SingleSubject checks a PEP 740 statement the way PyPI does: exactly one
// subject, whose name is the dist's filename and whose sha256 matches, and
// the expected predicate type.
func SingleSubject(st *intoto.Statement, filename string, sha256 []byte, predicateType string) error {
	if st == nil {
		return fmt.Errorf("no in-toto statement")
	}
	if st.GetPredicateType() != predicateType {
		return fmt.Errorf("predicate type %q, want %q", st.GetPredicateType(), predicateType)
	}
	if n := len(st.GetSubject()); n != 1 {
		return fmt.Errorf("statement has %d subjects, PEP 740 wants exactly one", n)
	}
	s := st.GetSubject()[0]
	if s.GetName() != filename {
		return fmt.Errorf("subject name %q is not the dist filename %q", s.GetName(), filename)
	}
	if got, want := s.GetDigest()["sha256"], hex.EncodeToString(sha256); got != want {
		return fmt.Errorf("subject sha256 %s does not match the dist's %s", got, want)
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
