package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// childRun is one measured child process.
type childRun struct {
	Start, End time.Time
	// MaxRSSKiB is the peak resident set of the child and of every descendant it waited for
	// (Linux reports the largest of them), in KiB.
	MaxRSSKiB int64
	Stdout    []byte
	Stderr    []byte
	ExitCode  int
}

func (c childRun) wall() time.Duration { return c.End.Sub(c.Start) }

// runChild runs bin with args and env added to the bench's own environment, and measures it.
// A non-zero exit is returned as an error quoting the end of its stderr.
func runChild(ctx context.Context, env []string, bin string, args ...string) (childRun, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Its own process group, killed with the bench: a stopped benchmark leaves no loop running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	run := childRun{Start: time.Now()}
	err := cmd.Run()
	run.End = time.Now()
	run.Stdout, run.Stderr = out.Bytes(), errb.Bytes()
	if st := cmd.ProcessState; st != nil {
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			run.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
		run.ExitCode = st.ExitCode()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return run, fmt.Errorf("%s exited with %d:\n%s", bin, run.ExitCode, tail(run.Stderr, 3000))
	}
	if err != nil {
		return run, fmt.Errorf("run %s: %w", bin, err)
	}
	return run, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
