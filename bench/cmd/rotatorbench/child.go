package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	// (Linux reports the largest of them), in KiB, as rsswrap measured it.
	MaxRSSKiB int64
	// RSSFloorKiB is rsswrap's own peak: MaxRSSKiB cannot be below it.
	RSSFloorKiB int64
	// CPU is the user and system time the process (and what it waited for) used.
	CPU      time.Duration
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// spawner starts measured processes through rsswrap (bench/cmd/rsswrap): started directly by
// this process, a child's max RSS would be this process's (Go starts children with vfork).
type spawner struct {
	// wrap is the rsswrap binary; dir holds its reports.
	wrap, dir string
}

func (c childRun) wall() time.Duration { return c.End.Sub(c.Start) }

// run runs bin with args and env added to the bench's own environment, and measures it. A
// non-zero exit is returned as an error quoting the end of its stderr.
func (s spawner) run(ctx context.Context, env []string, bin string, args ...string) (childRun, error) {
	f, err := os.CreateTemp(s.dir, "rss-*.json")
	if err != nil {
		return childRun{}, err
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd := exec.CommandContext(ctx, s.wrap, append([]string{"-o", f.Name(), "--", bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Its own process group, killed with the bench: a stopped benchmark leaves no loop running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	run := childRun{Start: time.Now()}
	err = cmd.Run()
	run.End = time.Now()
	run.Stdout, run.Stderr = out.Bytes(), errb.Bytes()
	if st := cmd.ProcessState; st != nil {
		run.ExitCode = st.ExitCode()
	}
	var rep struct {
		MaxRSSKiB, WrapperHWMKiB int64
		CPUSeconds               float64
	}
	if b, rerr := os.ReadFile(f.Name()); rerr == nil && json.Unmarshal(b, &rep) == nil {
		run.MaxRSSKiB, run.RSSFloorKiB = rep.MaxRSSKiB, rep.WrapperHWMKiB
		run.CPU = time.Duration(rep.CPUSeconds * float64(time.Second))
	} else if err == nil {
		return run, fmt.Errorf("%s: rsswrap wrote no report: %w", bin, rerr)
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
