package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// session is one pull check done by hand: the ping, the token exchange with the
// realm of the registry's challenge, the proof of identity and the manifest
// request. Doing the exchange here rather than in go-containerregistry lets the
// check look at the token it got (Harbor's anonymous fallback), accept a realm on
// another private host:port (GitLab's /jwt/auth, which go-containerregistry
// refuses), and send each token request once.
type session struct {
	c    Checker
	ref  name.Reference
	rt   http.RoundTripper
	cred credential

	// identity is the subject the token service named, once known.
	identity string
	// tokens are the bearer tokens received, scrubbed from every message.
	tokens []string
}

// manifestMediaTypes are the manifest types asked for, as go-containerregistry's
// remote.Get does: a registry may refuse a manifest the client does not accept.
var manifestMediaTypes = []types.MediaType{
	types.DockerManifestSchema1, types.DockerManifestSchema1Signed,
	types.DockerManifestSchema2, types.OCIManifestSchema1,
	types.DockerManifestList, types.OCIImageIndex,
}

// maxManifestRead bounds how much of a manifest body is read: the check only
// needs the status, but reading lets the connection be reused.
const maxManifestRead = 4 << 20

// run performs the check and returns nil or the failure (a *PullError, or an
// error for classify).
func (s *session) run(ctx context.Context) error {
	reg := s.ref.Context().Registry
	// The ping goes without any credential, as go-containerregistry's does: its
	// answer says how to authenticate.
	pr, err := transport.Ping(ctx, reg, s.rt)
	if err != nil {
		return failAt(StagePing, err)
	}
	scheme := "https"
	if pr.Insecure {
		scheme = "http"
	}
	var authz string
	if strings.EqualFold(pr.Scheme, "bearer") {
		tok, err := s.bearerToken(ctx, pr)
		if err != nil {
			return err
		}
		authz = "Bearer " + tok
	} else {
		// Basic, an unknown scheme, or no challenge at all (/v2/ answered 200), as
		// go-containerregistry treats them: the credential goes to the registry
		// itself with the request, and the pull with it is the proof (a registry
		// that wants no authentication ignores it: every pull works there).
		switch {
		case s.cred.registryToken != "":
			authz = "Bearer " + s.cred.registryToken
		case s.cred.basic != "":
			authz = s.cred.basic
		}
	}
	return s.manifest(ctx, scheme, authz)
}

// bearerToken returns the token to pull with, after proving that the token service
// authenticated the credential (when there is one).
func (s *session) bearerToken(ctx context.Context, pr *transport.Challenge) (string, error) {
	realm, err := s.checkRealm(pr)
	if err != nil {
		return "", err
	}
	if s.cred.registryToken != "" {
		// A token the caller already holds is presented as is, as
		// go-containerregistry does; the registry's answer judges it.
		return s.cred.registryToken, nil
	}
	service, hasService := pr.Parameters["service"]
	scope := "repository:" + s.ref.Context().RepositoryStr() + ":pull"
	tok, err := s.requestToken(ctx, realm, service, hasService, scope)
	if err != nil {
		return "", err
	}
	if !s.cred.anonymous() {
		if err := s.proveIdentity(ctx, realm, service, hasService, tok); err != nil {
			return "", err
		}
	}
	return tok, nil
}

// manifest requests the image's manifest with authz (HEAD, then GET when the
// registry answered HEAD with an error): some registries and proxies refuse HEAD,
// and HEAD answers have no body, so the GET brings the registry's error code
// (Harbor's 412 PROJECTPOLICYVIOLATION above all). The GET reuses the token: a
// second token request would tell nothing new.
func (s *session) manifest(ctx context.Context, scheme, authz string) error {
	url := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", scheme, s.ref.Context().RegistryStr(),
		s.ref.Context().RepositoryStr(), s.ref.Identifier())
	err := s.requestManifest(ctx, http.MethodHead, url, authz)
	if terr := (*transport.Error)(nil); errors.As(err, &terr) {
		err = s.requestManifest(ctx, http.MethodGet, url, authz)
	}
	if err != nil {
		return failAt(StageManifest, err)
	}
	return nil
}

// requestManifest sends one manifest request; a non-200 answer is a *transport.Error.
func (s *session) requestManifest(ctx context.Context, method, url, authz string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	accept := make([]string, len(manifestMediaTypes))
	for i, mt := range manifestMediaTypes {
		accept[i] = string(mt)
	}
	req.Header.Set("Accept", strings.Join(accept, ","))
	if authz != "" {
		// net/http drops Authorization on a redirect to another host (blob
		// storage), so the credential stays with the registry.
		req.Header.Set("Authorization", authz)
	}
	resp, err := (&http.Client{Transport: s.rt}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxManifestRead))
	return nil
}

// failAt classifies err as the failure of the request of stage.
func failAt(stage Stage, err error) error {
	if pe := (*PullError)(nil); errors.As(err, &pe) {
		return pe
	}
	pe := &PullError{}
	classifyAt(pe, err, stage)
	return pe
}
