package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a server started by this process.
type child struct {
	Process
	done chan struct{} // closed when the process has exited (and is reaped)
}

// startProcess starts bin with args in its own session (so it survives the
// caller and gets no terminal signals), output appended to logPath.
func startProcess(name, bin string, args []string, dir, logPath string) (*child, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", name, err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{Process: Process{Name: name, PID: cmd.Process.Pid, Log: logPath}, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	st, err := procStartTime(c.PID)
	if err != nil {
		return nil, fmt.Errorf("reading start time of %s: %w", name, err)
	}
	c.StartTime = st
	return c, nil
}

// procStartTime returns field 22 of /proc/PID/stat, the start time in ticks.
func procStartTime(pid int) (uint64, error) {
	fields, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// procStat returns the fields of /proc/PID/stat after the command name
// (fields[0] is the state).
func procStat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, errors.New("malformed /proc stat")
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return nil, errors.New("short /proc stat")
	}
	return fields, nil
}

// alive reports whether p is still running and is the process Up started
// (same PID and start time). Zombies count as dead.
func (p Process) alive() bool {
	fields, err := procStat(p.PID)
	if err != nil || fields[0] == "Z" {
		return false
	}
	st, err := strconv.ParseUint(fields[19], 10, 64)
	return err == nil && st == p.StartTime
}

// stop sends SIGTERM to p's process group, waits up to timeout and then
// sends SIGKILL. It does nothing when p is gone or is another process.
func (p Process) stop(timeout time.Duration) error {
	if !p.alive() {
		return nil
	}
	// The process leads its own session and group (Setsid).
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %w", p.Name, p.PID, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.alive() {
		if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("killing %s (pid %d): %w", p.Name, p.PID, err)
		}
	}
	for i := 0; i < 50 && p.alive(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// waitHTTP polls url until it answers 2xx, c exits, or timeout passes.
func waitHTTP(ctx context.Context, c *child, url string, timeout time.Duration) error {
	return waitFor(ctx, c, timeout, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
}

// waitFor polls check until it succeeds, c exits, or timeout passes.
func waitFor(ctx context.Context, c *child, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited during startup", c.Name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s: %w", c.Name, timeout, err)
		}
	}
}

// checkPortsFree fails when any port of the stack is already taken.
func checkPortsFree() error {
	var busy []string
	for name, port := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			busy = append(busy, fmt.Sprintf("%d (%s)", port, name))
			continue
		}
		l.Close()
	}
	if len(busy) > 0 {
		return fmt.Errorf("ports already in use: %s (is another stack running? see ss -ltnp)", strings.Join(busy, ", "))
	}
	return nil
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
