package sandbox

import (
	"errors"
	"os"
	"path/filepath"
)

// repoFile finds a file of the repository by walking up from the working directory (tests run
// in their package's folder, the sandbox command at the root).
func repoFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, rel)
			if _, err := os.Stat(p); err != nil {
				return "", err
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("sandbox: not inside the rotator repository (no go.mod above " + rel + ")")
		}
		dir = parent
	}
}
