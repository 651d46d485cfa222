package secretsource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/config"
)

func TestReadEnvAndFile(t *testing.T) {
	env := map[string]string{"ROTATOR_TEST_PW": "s3cret"}
	src, err := New(context.Background(), nil, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := src.Read(ctx, config.SecretRef{Env: "ROTATOR_TEST_PW"}); err != nil || v != "s3cret" {
		t.Fatalf("env: %q %v", v, err)
	}
	if _, err := src.Read(ctx, config.SecretRef{Env: "ROTATOR_TEST_UNSET_VAR"}); err == nil || !strings.Contains(err.Error(), "ROTATOR_TEST_UNSET_VAR") {
		t.Fatalf("error must name the variable: %v", err)
	}

	// A mounted Secret: the trailing newline is not part of the value, and a change is read.
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := src.Read(ctx, config.SecretRef{File: p}); err != nil || v != "first" {
		t.Fatalf("file: %q %v", v, err)
	}
	if err := os.WriteFile(p, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := src.Read(ctx, config.SecretRef{File: p}); err != nil || v != "second" {
		t.Fatalf("changed file must be read again: %q %v", v, err)
	}
	if err := os.WriteFile(p, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(ctx, config.SecretRef{File: p}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}

	// A Vault reference without a Vault section says what to configure.
	_, err = src.Read(ctx, config.SecretRef{Vault: &config.VaultRef{Path: "secret/data/x", Key: "password"}})
	if err == nil || !strings.Contains(err.Error(), "set the top-level vault section") {
		t.Fatalf("vault ref without vault: %v", err)
	}
}
