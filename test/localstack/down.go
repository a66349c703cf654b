package localstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// stopTimeout is how long a server gets between SIGTERM and SIGKILL
// (Trillian needs about 5 s).
const stopTimeout = 15 * time.Second

// Down stops every process the stack started (and only those: a PID whose
// start time changed is left alone), then forgets them and removes
// stack.env. The database goes last, so Trillian can shut down cleanly
// (about 5 s); everything else stops in parallel. It is idempotent.
func (s *Stack) Down() error {
	var first, last []Process
	for _, p := range s.Processes {
		if p.Name == "mariadb" {
			last = append(last, p)
		} else {
			first = append(first, p)
		}
	}
	if err := errors.Join(stopAll(first), stopAll(last)); err != nil {
		return err
	}
	s.Processes = nil
	if err := s.save(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.Dir, EnvFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", EnvFile, err)
	}
	return nil
}

// stopAll stops procs in parallel.
func stopAll(procs []Process) error {
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.stop(stopTimeout)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Down stops the stack recorded in dir, if any.
func Down(dir string) error {
	s, err := Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Down()
}
