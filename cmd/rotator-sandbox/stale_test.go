package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startAs starts a process that lives until the test ends, with argv as its command line
// (/bin/sh running a sleep, the rest of argv its positional parameters) and dir as its working
// directory.
func startAs(t *testing.T, dir string, argv ...string) int {
	t.Helper()
	cmd := &exec.Cmd{Path: "/bin/sh", Args: append([]string{"sh", "-c", "sleep 60; :"}, argv...), Dir: dir,
		// A group of its own, as the sandbox's servers have: down signals the group too.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Until the child has exec'd, /proc/PID/cmdline is the test binary's or empty: wait for the
	// shell's, or a loaded machine reports a live sandbox as someone else's process.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); strings.HasPrefix(string(b), "sh\x00") {
			break
		}
	}
	return cmd.Process.Pid
}

// sandboxDir writes what a ready sandbox leaves in its directory: serve.pid naming pid, the ready
// mark, and an admin kubeconfig pointing at apiURL (with caPEM as its CA, when given).
func sandboxDir(t *testing.T, pid int, apiURL string, caPEM []byte) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(pidFile, []byte(strconv.Itoa(pid)))
	write(readyFile, nil)
	ca := ""
	if caPEM != nil {
		write("ca.crt", caPEM)
		ca = "certificate-authority: " + filepath.Join(dir, "ca.crt")
	}
	write(adminKubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster: {server: %q, %s}
users:
- name: admin
  user: {token: admin-token}
contexts:
- name: admin@sandbox
  context: {cluster: sandbox, user: admin}
current-context: admin@sandbox
`, apiURL, ca))
	return dir
}

// apiServer answers /readyz as a ready API server does, to the admin's token only.
func apiServer(t *testing.T) (url string, caPEM []byte) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// closedURL is an https address on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

func TestRunningSandbox(t *testing.T) {
	apiURL, ca := apiServer(t)
	// The pid file is written before the process is known, so the directory is made first
	// and its name given to the process afterwards.
	dir := sandboxDir(t, 0, apiURL, ca)
	pid := startAs(t, "/", "serve", "--dir", dir)
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := running(context.Background(), dir); err != nil {
		t.Fatalf("a live sandbox whose API server answers is reported stale: %v", err)
	}
}

func TestStaleSandbox(t *testing.T) {
	apiURL, ca := apiServer(t)
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		want string
	}{{
		name: "pid reused by another process",
		dir: func(t *testing.T) string {
			// Alive, but some other program: here, this test binary.
			return sandboxDir(t, os.Getpid(), apiURL, ca)
		},
		want: "is not this sandbox's serve process",
	}, {
		name: "pid reused by the serve process of another sandbox",
		dir: func(t *testing.T) string {
			return sandboxDir(t, startAs(t, "/", "serve", "--dir", t.TempDir()), apiURL, ca)
		},
		want: "is not this sandbox's serve process",
	}, {
		name: "serve process alive but its API server does not answer",
		dir: func(t *testing.T) string {
			dir := sandboxDir(t, 0, closedURL(t), nil)
			pid := startAs(t, "/", "serve", "--dir", dir)
			if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(pid)), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		},
		want: "API server does not answer",
	}, {
		name: "dead pid",
		dir: func(t *testing.T) string {
			cmd := exec.Command("/bin/true")
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			return sandboxDir(t, cmd.Process.Pid, apiURL, ca)
		},
		want: "no live serve process",
	}, {
		name: "no pid file",
		dir:  func(t *testing.T) string { return t.TempDir() },
		want: "no live serve process",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := running(context.Background(), c.dir(t))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("running = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// down signals only processes that are still the sandbox's: a recorded child pid now held by a
// process outside the sandbox directory is left alone.
func TestDownSparesReusedPids(t *testing.T) {
	dir := t.TempDir()
	ours := startAs(t, dir)
	other := startAs(t, "/")
	stranger := startAs(t, "/", "serve", "--dir", t.TempDir())
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(stranger)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, childFile), fmt.Appendf(nil, "%d\n%d", ours, other), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := down(dir); err != nil {
		t.Fatal(err)
	}
	if exists(dir) {
		t.Error("down left the directory")
	}
	if !alive(other) || !alive(stranger) {
		t.Errorf("down killed a process that is not the sandbox's (other alive: %v, stranger alive: %v)", alive(other), alive(stranger))
	}
	waitDead(t, ours)
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	for range 50 {
		if !alive(pid) {
			return
		}
		// The test is the process's parent and reaps it only in Cleanup: until then a killed
		// child is a zombie, which alive counts as dead.
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("down did not stop the sandbox's server %d", pid)
}
