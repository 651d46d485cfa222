package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

func testImage(t *testing.T, s spec) v1.Image {
	t.Helper()
	img, err := assemble([]byte("\x7fELF not really"), s)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// The Go-built image and the Dockerfile's final stage run the same way: same user, entrypoint,
// command and port. A change to one without the other fails here.
func TestImageAgreesWithDockerfile(t *testing.T) {
	final := dockerfileFinalStage(t, filepath.Join("..", "..", "Dockerfile"))
	cf := configOf(t, testImage(t, spec{Version: "v1.2.3", Platform: amd64}))
	got := map[string]string{
		"USER":       cf.Config.User,
		"ENTRYPOINT": jsonArray(cf.Config.Entrypoint),
		"CMD":        jsonArray(cf.Config.Cmd),
	}
	for ins, want := range final {
		if ins == "EXPOSE" {
			if _, ok := cf.Config.ExposedPorts[want+"/tcp"]; !ok || len(cf.Config.ExposedPorts) != 1 {
				t.Errorf("EXPOSE %s in the Dockerfile, the image exposes %v", want, cf.Config.ExposedPorts)
			}
			continue
		}
		if got[ins] != want {
			t.Errorf("%s: the Dockerfile says %s, the image %s", ins, want, got[ins])
		}
	}
	for _, ins := range []string{"USER", "ENTRYPOINT", "CMD", "EXPOSE"} {
		if _, ok := final[ins]; !ok {
			t.Errorf("the Dockerfile's final stage has no %s: the comparison would be empty", ins)
		}
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
}

// dockerfileFinalStage returns the USER, ENTRYPOINT, CMD and EXPOSE of the last stage, each
// with its arguments in the Dockerfile's spelling (JSON arrays as written).
func dockerfileFinalStage(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		ins, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch ins = strings.ToUpper(ins); ins {
		case "FROM":
			clear(out)
		case "USER", "ENTRYPOINT", "CMD", "EXPOSE":
			out[ins] = strings.TrimSpace(rest)
		}
	}
	return out
}

func jsonArray(s []string) string {
	q := make([]string, len(s))
	for i, e := range s {
		q[i] = `"` + e + `"`
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// The layer: the binary owned by root and executable, nonroot in passwd and group with its
// home, a sticky /tmp; every timestamp the build's.
func TestLayer(t *testing.T) {
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	img := testImage(t, spec{Version: "v1.2.3", Created: created, Platform: amd64})
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	type file struct {
		mode     int64
		uid, gid int
		body     string
	}
	got := map[string]file{}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name] = file{h.Mode, h.Uid, h.Gid, string(body)}
		if !h.ModTime.Equal(created) {
			t.Errorf("%s: mtime %s, want the build's %s", h.Name, h.ModTime, created)
		}
	}
	if f := got["rotator"]; f.mode != 0o755 || f.uid != 0 || f.body != "\x7fELF not really" {
		t.Errorf("rotator: %+v, want the binary, 0755, owned by root", f)
	}
	if f := got["etc/passwd"]; !strings.Contains(f.body, "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("etc/passwd has no nonroot 65532:\n%s", f.body)
	}
	if f := got["etc/group"]; !strings.Contains(f.body, "\nnonroot:x:65532:\n") {
		t.Errorf("etc/group has no nonroot 65532:\n%s", f.body)
	}
	if f := got["home/nonroot/"]; f.uid != 65532 || f.gid != 65532 || f.mode != 0o700 {
		t.Errorf("home/nonroot: %+v, want 0700 owned by 65532", f)
	}
	if f := got["tmp/"]; f.mode != 0o1777 {
		t.Errorf("tmp: mode %o, want 1777", f.mode)
	}
}

// Same inputs, same digest (nothing depends on the clock); the version shows in the digest
// and the labels.
func TestAssembleIsReproducible(t *testing.T) {
	s := spec{Version: "v1.2.3", Revision: "abc123", Source: "https://example.com/r", Created: time.Unix(1700000000, 0).UTC(), Platform: amd64}
	d1, _ := testImage(t, s).Digest()
	time.Sleep(1100 * time.Millisecond) // a timestamp taken from the clock would differ now
	d2, _ := testImage(t, s).Digest()
	if d1 != d2 {
		t.Fatalf("two builds of the same inputs: %s and %s", d1, d2)
	}
	s.Version = "v1.2.4"
	img := testImage(t, s)
	if d3, _ := img.Digest(); d3 == d1 {
		t.Fatalf("another version, same digest %s", d3)
	}
	want := map[string]string{
		"org.opencontainers.image.title":    "rotator",
		"org.opencontainers.image.version":  "v1.2.4",
		"org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.source":   "https://example.com/r",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
	}
	if got := configOf(t, img).Config.Labels; !reflect.DeepEqual(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}

func TestCreatedTime(t *testing.T) {
	commit := time.Date(2026, 10, 1, 8, 0, 0, 0, time.FixedZone("", 3600))
	for _, c := range []struct {
		epoch  string
		commit time.Time
		want   time.Time
	}{
		{"1700000000", commit, time.Unix(1700000000, 0).UTC()},
		{"", commit, commit.UTC()},
		{"", time.Time{}, time.Unix(0, 0).UTC()},
	} {
		got, err := createdTime(c.epoch, c.commit)
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("createdTime(%q, %s) = %s, %v; want %s", c.epoch, c.commit, got, err, c.want)
		}
	}
	if _, err := createdTime("yesterday", commit); err == nil {
		t.Error("SOURCE_DATE_EPOCH=yesterday: want an error")
	}
}

// One release, named alike everywhere a user reads an image tag: the file VERSION, the tag
// `make image-push` pushes, deploy/base's newTag and the chart's appVersion (the tag when
// image.tag is empty). A release tag, never latest.
func TestReleaseVersionAgrees(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(release) {
		t.Fatalf("VERSION %q: want a release such as v0.1.0 (not latest)", release)
	}

	var kustomization struct {
		Images []struct{ Name, NewTag, Digest string }
	}
	readYAML(t, filepath.Join(root, "deploy", "base", "kustomization.yaml"), &kustomization)
	if len(kustomization.Images) != 1 || kustomization.Images[0].Name != "ghcr.io/rotatorhq/rotator" {
		t.Fatalf("deploy/base/kustomization.yaml images: %+v, want one entry for ghcr.io/rotatorhq/rotator", kustomization.Images)
	}
	if im := kustomization.Images[0]; im.NewTag != release && im.Digest == "" {
		t.Errorf("deploy/base/kustomization.yaml newTag %q, the release (VERSION) is %q", im.NewTag, release)
	}

	var chart struct{ AppVersion string }
	readYAML(t, filepath.Join(root, "charts", "rotator", "Chart.yaml"), &chart)
	if chart.AppVersion != release {
		t.Errorf("charts/rotator/Chart.yaml appVersion %q, the release (VERSION) is %q", chart.AppVersion, release)
	}

	// What make image-push would run, with neither VERSION nor IMAGE given.
	cmd := exec.Command("make", "-n", "-s", "--no-print-directory", "image-push")
	cmd.Dir = root
	cmd.Env = []string{}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "VERSION" && k != "IMAGE" && k != "MAKEFLAGS" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n image-push: %v\n%s", err, out)
	}
	for _, want := range []string{"--version " + release + " ", "--push ghcr.io/rotatorhq/rotator:" + release} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("make image-push does not run %q:\n%s", want, out)
		}
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Bad invocations fail before anything is built.
func TestRunRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--oci-layout", "x"}, "--version is required"},
		{[]string{"--version", "v1.0.0"}, "exactly one of --push and --oci-layout"},
		{[]string{"--version", "v1.0.0", "--push", "r/x:1", "--oci-layout", "x"}, "exactly one of --push and --oci-layout"},
		{[]string{"--version", "v1.0.0", "--oci-layout", "x", "--platform", "linux/"}, "--platform"},
		{[]string{"--version", "v1.0.0", "--oci-layout", "x", "extra"}, "unexpected arguments"},
	} {
		err := run(t.Context(), c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}
