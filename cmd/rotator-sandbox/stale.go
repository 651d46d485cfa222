package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// adminKubeconfig is the cluster-admin kubeconfig the sandbox writes in its directory.
const adminKubeconfig = "admin.kubeconfig"

// running says whether dir holds a sandbox that is really running, and if not, why. A
// directory left by a sandbox that died is stale although its serve.pid may name a live
// process: the pid may have been reused by anything since. So the recorded process must be this
// directory's `rotator-sandbox serve --dir DIR` (its command line, not just its pid), it must
// have reported ready, and the API server must answer.
func running(ctx context.Context, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	pid := readPid(filepath.Join(abs, pidFile))
	if !alive(pid) {
		return fmt.Errorf("no live serve process (serve.pid: %d)", pid)
	}
	if !isServe(pid, abs) {
		return fmt.Errorf("pid %d is not this sandbox's serve process but %q", pid, cmdline(pid))
	}
	if !exists(filepath.Join(abs, readyFile)) {
		return fmt.Errorf("serve process %d never reported ready", pid)
	}
	if err := apiServerAnswers(ctx, filepath.Join(abs, adminKubeconfig)); err != nil {
		return fmt.Errorf("its API server does not answer: %w", err)
	}
	return nil
}

// isServe reports whether pid is `rotator-sandbox serve --dir abs`, as up starts it.
func isServe(pid int, abs string) bool {
	args := cmdlineArgs(pid)
	for i := range args {
		if args[i] == "serve" && i+2 < len(args) && args[i+1] == "--dir" && sameDir(args[i+2], abs) {
			return true
		}
	}
	return false
}

// isChild reports whether pid is one of the sandbox's servers: each runs in the sandbox
// directory or below it (startProcess sets its working directory), which a process that
// reused the pid almost surely does not.
func isChild(pid int, abs string) bool {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)) // symlinks resolved
	if err != nil {
		return false
	}
	root := resolved(abs)
	return cwd == root || strings.HasPrefix(cwd, root+string(filepath.Separator))
}

// sameDir compares two directory names by what they resolve to.
func sameDir(a, b string) bool { return resolved(a) == resolved(b) }

func resolved(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return filepath.Clean(dir)
}

func cmdlineArgs(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

func cmdline(pid int) string { return strings.Join(cmdlineArgs(pid), " ") }

// apiServerAnswers asks the API server of kubeconfig for /readyz, briefly: a live sandbox
// answers at once on loopback.
func apiServerAnswers(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
