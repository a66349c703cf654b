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
// stack.env. It is idempotent.
func (s *Stack) Down() error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range s.Processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.stop(stopTimeout); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
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
