// Command image builds the rotator's container image without Docker: it compiles ./cmd/rotator
// as the Dockerfile's build stage does, puts the binary in one layer on an empty image with the
// Dockerfile's user, entrypoint and command, and pushes the result to a registry or writes it as
// an OCI layout. Same commit, same version, same digest. `make image` and `make image-push` run
// it from the module's root:
//
//	go run ./hack/image --version v0.1.0 --push registry.example.com/team/rotator:v0.1.0
//	go run ./hack/image --version v0.1.0 --oci-layout bin/image
//
// Registry credentials come from the Docker config (DOCKER_CONFIG, ~/.docker/config.json, its
// credential helpers), as for crane and ko.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

type options struct {
	version, revision, platform, push, ociLayout, source, dir string
	insecure                                                  bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&o.version, "version", "", "the release to stamp into the binary and the labels (required), e.g. v0.1.0")
	fs.StringVar(&o.revision, "revision", "", "the commit for the revision label (default: the one Go recorded in the binary; none in a git worktree)")
	fs.StringVar(&o.platform, "platform", "linux/amd64", "os/arch[/variant] to build for")
	fs.StringVar(&o.push, "push", "", "push to this reference, e.g. registry.example.com/team/rotator:v0.1.0")
	fs.StringVar(&o.ociLayout, "oci-layout", "", "write the image into this OCI layout directory")
	fs.BoolVar(&o.insecure, "insecure", false, "allow a registry served over plain HTTP")
	fs.StringVar(&o.source, "source", "https://github.com/rotatorhq/rotator", "the source label")
	fs.StringVar(&o.dir, "C", ".", "the module's root")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.version == "" {
		return errors.New("--version is required: an unstamped binary says \"devel\"")
	}
	if (o.push == "") == (o.ociLayout == "") {
		return errors.New("give exactly one of --push and --oci-layout")
	}
	p, err := v1.ParsePlatform(o.platform)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	if p.OS != "linux" || p.Architecture == "" {
		return fmt.Errorf("--platform %q: want linux/<arch>[/<variant>], e.g. linux/arm64", o.platform)
	}
	img, err := build(ctx, o, *p)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if o.push != "" {
		return push(ctx, img, o, digest, stdout)
	}
	return writeLayout(img, o, digest, stdout)
}

// build compiles the binary into a temporary directory and assembles the image around it.
func build(ctx context.Context, o options, p v1.Platform) (v1.Image, error) {
	tmp, err := os.MkdirTemp("", "rotator-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "rotator")
	if err := compile(ctx, o.dir, bin, o.version, p); err != nil {
		return nil, err
	}
	revision, commitTime, err := vcsInfo(bin)
	if err != nil {
		return nil, err
	}
	if o.revision != "" {
		revision = o.revision
	}
	created, err := createdTime(os.Getenv("SOURCE_DATE_EPOCH"), commitTime)
	if err != nil {
		return nil, err
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return assemble(binary, spec{Version: o.version, Revision: revision, Source: o.source, Created: created, Platform: p})
}

func push(ctx context.Context, img v1.Image, o options, digest v1.Hash, stdout io.Writer) error {
	var nameOpts []name.Option
	if o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.ParseReference(o.push, nameOpts...)
	if err != nil {
		return fmt.Errorf("--push: %w", err)
	}
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	_, err = fmt.Fprintf(stdout, "%s@%s\n", ref.Name(), digest)
	return err
}

func writeLayout(img v1.Image, o options, digest v1.Hash, stdout io.Writer) error {
	p, err := layout.FromPath(o.ociLayout)
	if err != nil {
		if p, err = layout.Write(o.ociLayout, empty.Index); err != nil {
			return fmt.Errorf("--oci-layout: %w", err)
		}
	}
	// The tag as a ref.name annotation: crane, skopeo and containerd's import read it.
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.version})); err != nil {
		return fmt.Errorf("--oci-layout: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s@%s\n", o.ociLayout, digest)
	return err
}
