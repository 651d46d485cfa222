package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// versionVar is the variable `rotator version` prints (internal/version).
const versionVar = "github.com/rotatorhq/rotator/internal/version.version"

// compile builds ./cmd/rotator of the module in dir into out, for p, as the Dockerfile's build
// stage does (static, no cgo, reproducible paths, no symbol tables) and stamped with version.
// The binary embeds its CA roots and tzdata (cmd/rotator/embed.go): the image has neither.
func compile(ctx context.Context, dir, out, version string, p v1.Platform) error {
	ldflags := "-s -w -X " + versionVar + "=" + version
	// -buildvcs=auto: the commit goes into the binary (rotator version, the revision label)
	// when dir is a git checkout, whatever GOFLAGS says.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=auto", "-ldflags", ldflags, "-o", out, "./cmd/rotator")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if p.Architecture == "arm" && p.Variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = os.Stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/rotator: %w\n%s", err, stderr.Bytes())
	}
	return nil
}

// vcsInfo returns the commit the binary was built from and that commit's time, as Go recorded
// them ("" and the zero time when it was not built from a checkout).
func vcsInfo(binary string) (revision string, commitTime time.Time, err error) {
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read the build info of %s: %w", binary, err)
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			commitTime, _ = time.Parse(time.RFC3339, s.Value)
		}
	}
	return revision, commitTime, nil
}

// createdTime is the one timestamp of the image (its config and every file in the layer), so a
// build of the same commit gives the same digest: SOURCE_DATE_EPOCH when set (the convention of
// reproducible builds), else the commit's time, else the Unix epoch.
func createdTime(sourceDateEpoch string, commitTime time.Time) (time.Time, error) {
	if sourceDateEpoch != "" {
		var sec int64
		if _, err := fmt.Sscanf(sourceDateEpoch, "%d", &sec); err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since the epoch", sourceDateEpoch)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	if !commitTime.IsZero() {
		return commitTime.UTC(), nil
	}
	return time.Unix(0, 0).UTC(), nil
}
