package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// The rig's GitLab: two groups and three projects, each project seeded with the image
// <registry>/<project>:1.0. A group credential for GitLabGroup pulls group-a/app and group-a/api,
// not group-b/other.
const (
	GitLabGroup     = "group-a"
	GitLabUsername  = "root"
	gitlabSubdir    = "gitlab"
	gitlabTokenSize = 10
)

// GitLabGroups and GitLabProjects are what the rig's GitLab holds.
var (
	GitLabGroups   = []string{"group-a", "group-b"}
	GitLabProjects = []string{"group-a/app", "group-a/api", "group-b/other"}
)

// gitlabRig is the GitLab part of the rig: the double, serving GitLab's API and the token realm
// /jwt/auth on one listener and the registry front (/v2/) on another, and a second real
// registry that trusts only the double's token issuer.
type gitlabRig struct {
	registry       *registryServer
	apiSrv, regSrv *http.Server
}

// startGitLab brings up GitLab's registry and the double in front of it, then seeds one image
// per project. The registry host is not the GitLab host, as on most GitLab installations.
func (r *Rig) startGitLab(ctx context.Context, dir string) error {
	r.gitlab = &gitlabRig{}
	// The listeners first: the registry must know its realm. As on real installations, the
	// realm is on the GitLab host (the API listener), not the registry's host:port. It is named
	// "localhost", not 127.0.0.1: go-containerregistry refuses a realm on a private or loopback
	// IP literal unless it is the registry's own host:port, and accepts a host name.
	apiL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	regL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		apiL.Close()
		return err
	}
	closeAll := func() { apiL.Close(); regL.Close() }
	r.GitLabURL = "http://" + apiL.Addr().String()
	r.GitLabRegistryHost = regL.Addr().String()
	r.GitLabToken = "glpat-" + randomHex(gitlabTokenSize)

	issuer, err := registrytoken.NewIssuer(gitlabdouble.RegistryIssuer, gitlabdouble.RegistryService)
	if err != nil {
		closeAll()
		return err
	}
	r.gitlab.registry, err = startRegistry(ctx, filepath.Join(dir, gitlabSubdir), registryAuth{
		realm: gitlabRealm(apiL.Addr()), service: gitlabdouble.RegistryService,
		issuer: gitlabdouble.RegistryIssuer, rootCertPEM: issuer.CertPEM(),
	})
	if err != nil {
		closeAll()
		return fmt.Errorf("sandbox: GitLab's registry: %w", err)
	}
	regURL, err := parseURL(r.gitlab.registry.URL)
	if err != nil {
		closeAll()
		return err
	}
	roles := map[string]int{}
	for _, g := range GitLabGroups {
		roles[g] = gitlabdouble.Owner
	}
	r.GitLab, err = gitlabdouble.New(gitlabdouble.Options{
		Users:  []gitlabdouble.User{{Username: GitLabUsername, Token: r.GitLabToken, Roles: roles}},
		Groups: GitLabGroups, Projects: GitLabProjects, Registry: regURL, Issuer: issuer,
	})
	if err != nil {
		closeAll()
		return err
	}
	r.gitlab.apiSrv = &http.Server{Handler: r.GitLab.APIHandler(), ReadHeaderTimeout: 10 * time.Second}
	r.gitlab.regSrv = &http.Server{Handler: r.GitLab.RegistryHandler(), ReadHeaderTimeout: 10 * time.Second}
	go r.gitlab.apiSrv.Serve(apiL) //nolint:errcheck // returns ErrServerClosed on Stop
	go r.gitlab.regSrv.Serve(regL) //nolint:errcheck // returns ErrServerClosed on Stop
	return r.seedGitLabImages(ctx)
}

// gitlabRealm is the registry's token realm on the GitLab host: localhost with the API
// listener's port.
func gitlabRealm(api net.Addr) string {
	port := "0"
	if tcp, ok := api.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	return "http://" + net.JoinHostPort("localhost", port) + gitlabdouble.JWTPath
}

// seedGitLabImages pushes one small image into each project as the group owner, through the
// registry front: the push proves the chain /jwt/auth → signed JWT → registry.
func (r *Rig) seedGitLabImages(ctx context.Context) error {
	img, err := random.Image(1024, 1)
	if err != nil {
		return err
	}
	owner := authn.FromConfig(authn.AuthConfig{Username: GitLabUsername, Password: r.GitLabToken})
	r.GitLabImages = map[string]string{}
	for _, p := range GitLabProjects {
		ref := fmt.Sprintf("%s/%s:1.0", r.GitLabRegistryHost, p)
		tag, err := name.NewTag(ref, name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(tag, img, remote.WithAuth(owner), remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("sandbox: seed GitLab image %s: %w", ref, err)
		}
		r.GitLabImages[p] = ref
	}
	return nil
}

// stop stops the double's servers, then the registry.
func (g *gitlabRig) stop() {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range []*http.Server{g.apiSrv, g.regSrv} {
		if s != nil {
			_ = s.Shutdown(ctx)
		}
	}
	if g.registry != nil {
		g.registry.proc.stop()
	}
}

// pids are the child processes of the GitLab part.
func (g *gitlabRig) pids() []int {
	if g == nil || g.registry == nil {
		return nil
	}
	return []int{g.registry.proc.pid()}
}

// exited reports GitLab's registry if it died.
func (g *gitlabRig) exited() error {
	if g == nil || g.registry == nil {
		return errors.New("sandbox: GitLab's registry was never started")
	}
	return g.registry.proc.exited()
}
