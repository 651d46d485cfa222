package secretsource

import (
	"fmt"
	"os"
	"strings"
)

// readEnv returns a non-empty environment variable.
func readEnv(lookupEnv func(string) (string, bool), name string) (string, error) {
	v, ok := lookupEnv(name)
	if !ok || v == "" {
		return "", fmt.Errorf("environment variable %s is not set: set it, or read the secret from a file or Vault", name)
	}
	return v, nil
}

// readFile returns a file's content without its trailing newline, as a mounted Secret holds it.
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return v, nil
}
