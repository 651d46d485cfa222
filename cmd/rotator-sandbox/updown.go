package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Files in the sandbox directory.
const (
	pidFile   = "serve.pid"  // the serve process
	childFile = "child.pids" // servers it started, for a down after serve died
	readyFile = "ready"      // written once env and config are in place
	logFile   = "serve.log"
)

// up starts `serve` detached and waits until it reports ready. A sandbox that is really running
// (see running) is reused as it is; a stale directory is cleared first.
func up(dir string, clusters int) error {
	if exists(dir) {
		err := running(context.Background(), dir)
		if err == nil {
			fmt.Printf("sandbox already running (%s); source %s\n", dir, filepath.Join(dir, "env"))
			return nil
		}
		fmt.Printf("sandbox %s is stale (%v): starting a new one\n", dir, err)
	}
	_ = down(dir) // leftovers of a dead sandbox
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(abs, logFile))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, "serve", "--dir", abs, "--clusters", strconv.Itoa(clusters))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this command and the terminal
	if err := cmd.Start(); err != nil {
		return err
	}
	fmt.Printf("starting the sandbox in %s (log: %s) ...\n", dir, filepath.Join(dir, logFile))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(4 * time.Minute)
	for {
		select {
		case err := <-done:
			b, _ := os.ReadFile(filepath.Join(abs, logFile))
			return fmt.Errorf("sandbox failed to start (%w):\n%s", err, tail(string(b), 20))
		case <-deadline:
			_ = down(dir)
			return errors.New("sandbox not ready after 4 minutes; see " + filepath.Join(dir, logFile))
		case <-time.After(300 * time.Millisecond):
			if exists(filepath.Join(abs, readyFile)) {
				b, _ := os.ReadFile(filepath.Join(abs, "env"))
				fmt.Printf("sandbox ready. Use it with: source %s\n%s", filepath.Join(dir, "env"), redactEnv(string(b)))
				return nil
			}
		}
	}
}

// down stops serve (which stops its servers in order), kills any server left by a serve that
// died, and removes the directory. Idempotent. A recorded pid is signalled only while it is
// still the sandbox's process: after a crash it may belong to anything.
func down(dir string) error {
	if !exists(dir) {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if pid := readPid(filepath.Join(abs, pidFile)); alive(pid) && isServe(pid, abs) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && alive(pid); i++ {
			time.Sleep(200 * time.Millisecond)
		}
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, childFile))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && alive(pid) && isChild(pid, abs) {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // its process group
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	fmt.Printf("sandbox %s stopped and removed\n", dir)
	return nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	// A zombie is not alive for our purposes.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || !strings.Contains(string(b), ") Z ")
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// redactEnv shows the env file without its secret values.
func redactEnv(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && (strings.Contains(k, "PASSWORD") || strings.Contains(k, "TOKEN")) {
			l = k + "=<hidden>"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
