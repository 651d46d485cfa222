package harbordouble

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// Harbor's answer to a pull its project's policy forbids (server/middleware/contenttrust and
// vulnerable): 412 with this code.
const codePolicyViolation = "PROJECTPOLICYVIOLATION"

const (
	msgNotSigned  = "The image is not signed by cosign."
	msgNotScanned = `current image without vulnerability scanning cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "low" or higher from running.' To continue with pull, please contact your project administrator for help.`
)

// repoPath is a /v2/ request on a repository: its name, the kind of request and the rest.
type repoPath struct{ repo, kind, ref string }

// repoPathRE splits /v2/<name>/<kind>/<ref>; the name may hold slashes, so the last kind wins.
var repoPathRE = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags|referrers)/(.*)$`)

func parseRepoPath(path string) (repoPath, bool) {
	m := repoPathRE.FindStringSubmatch(path)
	if m == nil {
		return repoPath{}, false
	}
	return repoPath{repo: m[1], kind: m[2], ref: m[3]}, true
}

// artifact names the image as Harbor's messages do: repo:tag or repo@digest.
func (rp repoPath) artifact() string {
	if strings.Contains(rp.ref, ":") {
		return rp.repo + "@" + rp.ref
	}
	return rp.repo + ":" + rp.ref
}

// registryAction is the repository action a request needs.
func registryAction(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "pull"
	case http.MethodDelete:
		return "delete"
	}
	return "push"
}

// serveRegistry is Harbor core's front of the registry (server/registry, middleware v2auth,
// contenttrust, vulnerable, readonly), in Harbor's order:
//
//  1. authorisation: a repository request needs a bearer token from /service/token granting its
//     action on that repository, any other /v2/ request a valid token; otherwise 401 with the
//     token challenge. A missing project is refused here too, 401, since no token grants on it;
//  2. read-only mode refuses writes, 403 DENIED;
//  3. a manifest GET or HEAD in a project with a pull policy answers 412 PROJECTPOLICYVIOLATION
//     (HEAD without body) once the image is known to exist; a missing one answers 404;
//  4. everything else is proxied; a missing manifest answers Harbor's 404 NOT_FOUND.
//
// The double accepts only bearer tokens at /v2/ (Harbor accepts basic auth there too, and
// proxies with a token of its own; the double forwards the client's token to the registry).
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	rp, isRepo := parseRepoPath(r.URL.Path)
	claims := s.bearerClaims(r)
	action := registryAction(r.Method)
	if claims == nil || (isRepo && !slices.Contains(claims.Actions("repository", rp.repo), action)) {
		s.challenge(w, r, rp, isRepo, action)
		return
	}
	if action != "pull" {
		s.mu.Lock()
		ro := s.readOnly
		s.mu.Unlock()
		if ro {
			writeError(w, &apiError{http.StatusForbidden, codeDenied, readOnlyMessage})
			return
		}
	}
	if isRepo && rp.kind == "manifests" && action == "pull" {
		if msg := s.policyViolation(rp.repo); msg != "" {
			if s.manifestMissing(r) {
				s.forward(w, r) // the registry's 404, made Harbor's by the proxy
				return
			}
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			writeError(w, &apiError{http.StatusPreconditionFailed, codePolicyViolation, msg})
			return
		}
	}
	s.forward(w, r)
}

// bearerClaims returns the verified claims of the request's bearer token, or nil. Tokens are
// stamped and checked with the wall clock, as the registry does.
func (s *Server) bearerClaims(r *http.Request) *registrytoken.Claims {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	c, err := s.issuer.Verify(tok, time.Now())
	if err != nil {
		return nil
	}
	return c
}

// challenge answers 401 with the token realm on the double's own host, as Harbor does.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, rp repoPath, isRepo bool, action string) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ch := fmt.Sprintf(`Bearer realm="%s://%s/service/token",service="%s"`, scheme, r.Host, s.issuer.Service())
	msg := "unauthorized"
	if isRepo {
		ch += fmt.Sprintf(`,scope="repository:%s:%s"`, rp.repo, action)
		msg = fmt.Sprintf("unauthorized to access repository: %s, action: %s", rp.repo, action)
	}
	w.Header().Set("Www-Authenticate", ch)
	writeError(w, &apiError{http.StatusUnauthorized, codeUnauthorized, msg})
}

// policyViolation returns Harbor's message when the project of repo has a pull policy that an
// image of the double breaks (all do: the double has no signatures nor scan reports), else "".
func (s *Server) policyViolation(repo string) string {
	projectName, _, _ := strings.Cut(repo, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByName(projectName)
	switch {
	case p == nil:
		return ""
	case p.policy.SignatureRequired:
		return msgNotSigned
	case p.policy.PreventVulnerable:
		return msgNotScanned
	}
	return ""
}

// manifestMissing asks the registry whether the manifest exists (with the caller's token),
// as Harbor's artifact lookup precedes its policy checks. Without a registry, or when the
// registry does not answer 404, the manifest counts as present.
func (s *Server) manifestMissing(r *http.Request) bool {
	if s.o.Registry == nil {
		return false
	}
	u := *s.o.Registry
	u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
	req, err := http.NewRequestWithContext(r.Context(), http.MethodHead, u.String(), nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	for _, a := range r.Header.Values("Accept") {
		req.Header.Add("Accept", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusNotFound
}
