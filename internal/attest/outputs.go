package attest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// pendingFile is an output written under a temporary name until every
// output has been verified.
type pendingFile struct {
	final string
	temp  string
}

// staging tracks the temporary and committed files of one run so that a
// failure can remove all of them.
type staging struct {
	overwrite bool
	files     []*pendingFile
	committed []string
}

func (s *staging) write(final string, data []byte) (*pendingFile, error) {
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	temp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp-"+hex.EncodeToString(suffix))
	if err := os.WriteFile(temp, data, 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", final, err)
	}
	p := &pendingFile{final: final, temp: temp}
	s.files = append(s.files, p)
	return p, nil
}

// commit gives every file its final name. Without overwrite a file that
// appeared meanwhile is not replaced (link fails if the name exists). On any
// error everything is rolled back.
func (s *staging) commit() error {
	for _, f := range s.files {
		var err error
		if s.overwrite {
			err = os.Rename(f.temp, f.final)
		} else if err = os.Link(f.temp, f.final); err == nil {
			err = os.Remove(f.temp)
		}
		if err != nil {
			s.rollback()
			return fmt.Errorf("putting %s in place: %w", f.final, err)
		}
		s.committed = append(s.committed, f.final)
	}
	return nil
}

// rollback removes every temporary file and every file already committed.
func (s *staging) rollback() {
	for _, f := range s.files {
		os.Remove(f.temp)
	}
	for _, c := range s.committed {
		os.Remove(c)
	}
	s.committed = nil
}

// checkFree refuses outputs that already exist, naming them all.
func checkFree(paths []string) error {
	var taken []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			taken = append(taken, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", p, err)
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("refusing to overwrite existing output files (remove them, or pass --overwrite):\n  - %s", strings.Join(taken, "\n  - "))
	}
	return nil
}
