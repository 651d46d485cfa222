//go:build integration

// Package e2e proves rotator against the real sandbox: a real kube-apiserver, etcd and
// controllers, a real registry with token auth behind the Harbor double, and the node simulator
// pulling every pod's images for real. One sandbox serves every test of the package; each test
// works in namespaces of its own.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

var (
	rig        *sandbox.Rig
	rotatorBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rotator-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The rotator is exercised as users run it: the built binary, its flags and exit codes.
	rotatorBin = filepath.Join(dir, "rotator")
	build := exec.Command("go", "build", "-o", rotatorBin, "github.com/rotatorhq/rotator/cmd/rotator")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build rotator:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logLevel := slog.LevelWarn
	if os.Getenv("E2E_DEBUG") != "" {
		logLevel = slog.LevelDebug
	}
	rig, err = sandbox.Start(ctx, sandbox.Options{Dir: filepath.Join(dir, "rig"), Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel}))})
	if err != nil {
		// Never a skip: a missing component fails the run (run `make tools`).
		fmt.Fprintln(os.Stderr, "e2e: the sandbox did not start:", err)
		return 1
	}
	defer rig.Stop()
	return m.Run()
}
