package main

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const validConfig = `credentials:
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`

// A changed, valid config file is handed over; an invalid change is reported and ignored.
func TestWatchConfigHandsOverValidChangesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan loaded, 1)
	var mu sync.Mutex
	var warnings []string
	warn := func(msg string, _ ...any) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }
	go watchConfig(ctx, path, sha256.Sum256([]byte(validConfig)), 20*time.Millisecond, changed, warn)

	if err := os.WriteFile(path, []byte("credentials: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-changed:
		t.Fatal("an invalid config was handed over")
	default:
	}
	mu.Lock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "invalid") {
		t.Fatalf("warnings %v", warnings)
	}
	mu.Unlock()

	next := strings.Replace(validConfig, "namespaces: [a]", "namespaces: [a, b]", 1)
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-changed:
		if got := l.cfg.Credentials[0].Targets.Namespaces; len(got) != 2 {
			t.Fatalf("handed over %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a valid change was not handed over")
	}
}
