package sandbox

import (
	"context"
	"fmt"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// seedImages pushes one small image, built in-process, into each project through the Harbor
// double with the admin's credentials: nothing is downloaded, and the push itself proves the
// token chain (double → signed JWT → registry) works.
func (r *Rig) seedImages(ctx context.Context, projects []string) error {
	img, err := random.Image(1024, 1)
	if err != nil {
		return err
	}
	admin := authn.FromConfig(authn.AuthConfig{Username: r.HarborUsername, Password: r.HarborPassword})
	for _, p := range projects {
		ref := fmt.Sprintf("%s/%s/app:1.0", r.RegistryHost, p)
		tag, err := name.NewTag(ref, name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(tag, img, remote.WithAuth(admin), remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("sandbox: seed image %s: %w", ref, err)
		}
		r.Images[p] = ref
	}
	return nil
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return u, nil
}
