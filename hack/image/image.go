package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image runs, as the Dockerfile's final stage says (a unit test holds the two
// together): the binary as nonroot (distroless' uid and gid 65532), serving on 8080.
const (
	binaryPath = "/rotator"
	user       = "65532:65532"
	port       = "8080/tcp"
)

var defaultCmd = []string{"run", "--config", "/etc/rotator/config.yaml"}

// spec is what goes into the image besides the binary.
type spec struct {
	Version  string // the release the binary is stamped with: the version label
	Revision string // the commit, "" when unknown: the revision label
	Source   string // the repository: the source label
	Created  time.Time
	Platform v1.Platform
}

// assemble returns the image: one layer on nothing (no base image, no download), holding the
// binary and the few files a nonroot process expects, with the Dockerfile's user, entrypoint
// and command.
func assemble(binary []byte, s spec) (v1.Image, error) {
	layerTar, err := rootfs(binary, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Author:    "rotator hack/image",
			Created:   v1.Time{Time: s.Created},
			CreatedBy: "go build ./cmd/rotator (CGO_ENABLED=0 -trimpath -ldflags=-s -w) + /etc/passwd, /etc/group",
			Comment:   "rotator " + s.Version,
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = s.Platform.OS, s.Platform.Architecture, s.Platform.Variant
	cf.Created = v1.Time{Time: s.Created}
	cf.Config = v1.Config{
		User:         user,
		Entrypoint:   []string{binaryPath},
		Cmd:          defaultCmd,
		ExposedPorts: map[string]struct{}{port: {}},
		WorkingDir:   "/",
		Labels:       labels(s),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotations' keys for what the image is (image-spec annotations.md).
func labels(s spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":    "rotator",
		"org.opencontainers.image.version":  s.Version,
		"org.opencontainers.image.source":   s.Source,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  s.Created.Format(time.RFC3339),
	}
	if s.Revision != "" {
		l["org.opencontainers.image.revision"] = s.Revision
	}
	return l
}

// rootfs is the layer: the binary (root-owned, so the process cannot replace it), passwd and
// group naming nonroot (some libraries look the user up), its home, and a /tmp.
func rootfs(binary []byte, mtime time.Time) ([]byte, error) {
	type entry struct {
		name     string
		mode     int64
		uid      int
		contents []byte // nil: a directory
	}
	entries := []entry{
		{"etc/", 0o755, 0, nil},
		{"etc/group", 0o644, 0, []byte("root:x:0:\nnonroot:x:65532:\n")},
		{"etc/passwd", 0o644, 0, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{"home/", 0o755, 0, nil},
		{"home/nonroot/", 0o700, 65532, nil},
		{"rotator", 0o755, 0, binary},
		{"tmp/", 0o1777, 0, nil},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: mtime,
			Typeflag: tar.TypeReg, Size: int64(len(e.contents)),
		}
		if e.contents == nil {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.contents); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
