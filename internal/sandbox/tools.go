package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ToolsDir is where hack/build-tools.sh caches the pinned binaries (etcd, kube-apiserver,
// kube-controller-manager, registry, vault, and kubectl when none is on PATH): outside the
// repository so that every clone and every CI run on this machine reuses one build.
func ToolsDir() string {
	if d := os.Getenv("ROTATOR_TOOLS_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "rotator-tools", "bin")
}

// binary finds a pinned server in ToolsDir and says how to get it when it is missing. A system
// binary of the same name is never used instead: it would be another version (Debian's etcd is
// 3.4), and a missing component is an error, never a reason to skip a test.
func binary(name string) (string, error) {
	p := filepath.Join(ToolsDir(), name)
	if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", fmt.Errorf("sandbox: %s not found in %s: build it with 'make tools' (hack/build-tools.sh)", name, ToolsDir())
}

// Kubectl is the kubectl the demo and the tests run: the one on PATH, else the pinned one that
// hack/build-tools.sh builds into ToolsDir when PATH has none.
func Kubectl() (string, error) {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p, nil
	}
	if p, err := binary("kubectl"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("sandbox: no kubectl on PATH nor in %s: run 'make tools' (hack/build-tools.sh builds it when PATH has none)", ToolsDir())
}
