package gitlabdouble

import (
	"fmt"
	"net/http"
	"strings"
)

// Fault answers matching requests with Status instead of serving them.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// PathPrefix matches the start of the escaped request path, as the client sent it, e.g.
	// "/api/v4/groups/group-a/deploy_tokens" or "/jwt/auth".
	PathPrefix string
	// Status is the answer: GitLab's error body for it ("Retry later" in plain text for 429, as
	// Rack::Attack answers).
	Status int
	// Times is how many requests the fault answers; at least 1.
	Times int
	// RetryAfter is the Retry-After header of a 429; default "1".
	RetryAfter string
	// Body, when set, is the answer's body instead of GitLab's default for Status: JSON when
	// it starts with '{', HTML when with '<', else plain text. The Fault* constructors below
	// give GitLab's other error shapes.
	Body string
}

// FaultRateLimited is the application rate limiter's 429 (Gitlab::ApplicationRateLimiter,
// e.g. on token creation): {"message":{"error":…}}, with Retry-After; unlike Rack::Attack's
// plain "Retry later".
func FaultRateLimited(method, pathPrefix, retryAfter string) Fault {
	return Fault{Method: method, PathPrefix: pathPrefix, Status: http.StatusTooManyRequests, RetryAfter: retryAfter,
		Body: `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`}
}

// FaultProxyNotFound is a reverse proxy's own 404 page, as when it has no route for the path.
func FaultProxyNotFound(method, pathPrefix string) Fault {
	return Fault{Method: method, PathPrefix: pathPrefix, Status: http.StatusNotFound,
		Body: "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"}
}

// Inject adds f. Faults are consumed in the order they were added; each request consumes at
// most one. Faulted requests are still recorded.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status == http.StatusTooManyRequests && f.RetryAfter == "" {
		// A client that honours Retry-After should not wait long in a test.
		f.RetryAfter = "1"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailNext makes the next n requests with this method ("" for any) whose escaped path starts
// with pathPrefix answer status: FailNext("POST", "/api/v4/groups/group-a/deploy_tokens", 500, 1)
// fails the next deploy token creation in group-a once.
func (s *Server) FailNext(method, pathPrefix string, status, n int) {
	if n <= 0 {
		return
	}
	s.Inject(Fault{Method: method, PathPrefix: pathPrefix, Status: status, Times: n})
}

// ClearFaults drops every fault not yet consumed.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes and returns the first fault matching r, or nil.
func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != r.Method) || !strings.HasPrefix(r.URL.EscapedPath(), f.PathPrefix) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		out := *f
		return &out
	}
	return nil
}

func writeFault(w http.ResponseWriter, f *Fault) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		ct := "text/plain"
		switch f.Body[0] {
		case '{':
			ct = "application/json"
		case '<':
			ct = "text/html"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("Retry later\n"))
		return
	}
	writeJSON(w, f.Status, map[string]string{"message": fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status))})
}

// SetRegistryRefusesNewTokens makes /jwt/auth grant nothing to tokens created while it is on
// (they still authenticate, and the API still reports them): the registry then refuses their
// pulls, as it does for a token whose holder lost access to the registry. Tokens created before
// keep working. It plays "the registry refuses the new credential".
func (s *Server) SetRegistryRefusesNewTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseNew = on
}

// SetMaxTokenLifetimeDays changes the instance's access token lifetime limit, as an admin does
// with "Maximum allowable lifetime for access tokens".
func (s *Server) SetMaxTokenLifetimeDays(days int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxLifetime = days
}
