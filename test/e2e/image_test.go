//go:build integration

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The image as a release is made, with no Docker: `make image-push` builds it (hack/image) with
// a version of its own and pushes it to the sandbox's registry (token auth, the admin's
// credentials from a Docker config); pulled back by tag, it runs as nonroot, its entrypoint is
// the static binary in its layer, and that binary says the build's version.
func TestImageBuiltWithoutDocker(t *testing.T) {
	stamp := fmt.Sprintf("v0.0.0-e2e.%d", time.Now().UnixNano())
	repo := rig.RegistryHost + "/proj-a/rotator"
	dockerConfig := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(rig.HarborUsername + ":" + rig.HarborPassword))
	writeJSON(t, filepath.Join(dockerConfig, "config.json"), map[string]any{"auths": map[string]any{rig.RegistryHost: map[string]string{"auth": auth}}})

	// The sandbox's registry speaks plain HTTP; the binary must run here, so the host's arch.
	// A cold build of ./cmd/rotator on a loaded 2-core machine takes minutes (warm: seconds).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "--no-print-directory", "image-push",
		"VERSION="+stamp, "IMAGE="+repo, "PLATFORM=linux/"+runtime.GOARCH, "IMAGE_PUSH_FLAGS=--insecure")
	cmd.Dir = deployDir(t, ".")
	cmd.Env = append(withoutMake(os.Environ()), "DOCKER_CONFIG="+dockerConfig)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make image-push: %v\n%s%s", err, out, stderr.Bytes())
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		t.Fatalf("make image-push printed nothing\n%s", stderr.Bytes())
	}
	pushedTag, pushedDigest, ok := strings.Cut(lines[len(lines)-1], "@")
	if !ok || pushedTag != repo+":"+stamp {
		t.Fatalf("make image-push printed %q, want %s:%s@sha256:...", out, repo, stamp)
	}

	tag, err := name.NewTag(repo+":"+stamp, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	admin := authn.FromConfig(authn.AuthConfig{Username: rig.HarborUsername, Password: rig.HarborPassword})
	img, err := remote.Image(tag, remote.WithAuth(admin), remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pull %s: %v", tag, err)
	}
	if d, err := img.Digest(); err != nil || d.String() != pushedDigest {
		t.Fatalf("pulled %s by tag, digest %s (%v); the push said %s", tag, d, err, pushedDigest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/rotator"}) {
		t.Errorf("entrypoint %q, want [/rotator]", cf.Config.Entrypoint)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"run", "--config", "/etc/rotator/config.yaml"}) {
		t.Errorf("cmd %q, want the Dockerfile's run --config /etc/rotator/config.yaml", cf.Config.Cmd)
	}
	if v := cf.Config.Labels["org.opencontainers.image.version"]; v != stamp {
		t.Errorf("label org.opencontainers.image.version %q, want %s", v, stamp)
	}

	files := imageFiles(t, img)
	uid := nonrootUser(t, cf.Config.User, files["etc/passwd"])
	t.Logf("%s@%s runs as %s (uid %d)", tag, pushedDigest, cf.Config.User, uid)

	entry, ok := files["rotator"]
	if !ok {
		t.Fatalf("the entrypoint /rotator is not in the image; it holds %v", keysOf(files))
	}
	if entry.mode&0o111 == 0 {
		t.Errorf("/rotator has mode %o: not executable", entry.mode)
	}
	staticELF(t, entry.body)
	// The image has no /etc/ssl: the binary brings its CA roots.
	bi, err := buildinfo.Read(bytes.NewReader(entry.body))
	if err != nil {
		t.Fatalf("/rotator has no Go build info: %v", err)
	}
	if !slices.ContainsFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == "golang.org/x/crypto/x509roots/fallback" }) {
		t.Errorf("/rotator does not embed golang.org/x/crypto/x509roots/fallback: with no /etc/ssl in the image it cannot verify TLS")
	}

	bin := filepath.Join(t.TempDir(), "rotator")
	//nolint:gosec // G306: the binary must be executable to run; the file is in the test's own temp dir
	if err := os.WriteFile(bin, entry.body, 0o700); err != nil {
		t.Fatal(err)
	}
	vout, err := exec.CommandContext(ctx, bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("/rotator version -o json: %v", err)
	}
	var info struct{ Version string }
	if err := json.Unmarshal(vout, &info); err != nil {
		t.Fatalf("/rotator version -o json: %v\n%s", err, vout)
	}
	if info.Version != stamp {
		t.Errorf("/rotator version says %q, the build was stamped %s", info.Version, stamp)
	}
}

type imageFile struct {
	mode int64
	body []byte
}

// imageFiles returns the image's flattened file system: regular files by path (no leading /).
func imageFiles(t *testing.T, img v1.Image) map[string]imageFile {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]imageFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "/")] = imageFile{h.Mode, body}
	}
}

// nonrootUser checks the config's User names a user other than root (numeric, as Kubernetes'
// runAsNonRoot requires to verify it) that the image's /etc/passwd knows, and returns its uid.
func nonrootUser(t *testing.T, user string, passwd imageFile) int {
	t.Helper()
	u, _, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(u)
	if user == "" || err != nil || uid == 0 {
		t.Fatalf("config User %q: want a numeric non-root uid (runAsNonRoot cannot check a name)", user)
	}
	for _, line := range strings.Split(string(passwd.body), "\n") {
		if f := strings.Split(line, ":"); len(f) > 3 && f[2] == u {
			return uid
		}
	}
	t.Errorf("uid %d is not in the image's /etc/passwd:\n%s", uid, passwd.body)
	return uid
}

// staticELF checks the binary is an executable for this machine that needs no loader and no
// shared library: the image has none.
func staticELF(t *testing.T, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/rotator is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		t.Errorf("/rotator is ELF type %s, want a static executable (ET_EXEC)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("/rotator asks for a dynamic loader: the image has none")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("/rotator needs shared libraries %v", libs)
	}
}

// withoutMake drops the make variables of an enclosing make (make test), whose jobserver the
// child cannot use.
func withoutMake(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "MAKEFLAGS" || k == "MFLAGS" || k == "MAKELEVEL" || k == "VERSION" || k == "IMAGE"
	})
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
