package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ToolsDir is where hack/build-tools.sh caches the pinned control-plane binaries: outside the
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

// binary finds a pinned tool in ToolsDir, or a system one on PATH (docker-registry), and says how
// to get it when it is missing. A missing component is an error, never a reason to skip a test.
func binary(name string) (string, error) {
	p := filepath.Join(ToolsDir(), name)
	if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if name == "docker-registry" {
		return "", fmt.Errorf("sandbox: docker-registry not found on PATH: install it with 'apt-get install -y docker-registry'")
	}
	return "", fmt.Errorf("sandbox: %s not found in %s: build it with 'make tools' (hack/build-tools.sh)", name, ToolsDir())
}
