package gitlabdouble

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const (
	// maxRecorded bounds the request log so a long `make demo` does not grow without end; the
	// oldest requests are dropped first.
	maxRecorded = 10000
	// maxRecordedBody bounds a recorded API body; the API never takes more than a few KiB.
	maxRecordedBody = 1 << 20
)

// Request is one request the double received, recorded before it was answered (faults
// included), for assertions on what a client sent.
type Request struct {
	Method string
	// EscapedPath is the path as sent, e.g. /api/v4/projects/group-a%2Fapp/deploy_tokens.
	EscapedPath string
	Query       url.Values
	// Header is a copy of the request headers with every credential replaced: PRIVATE-TOKEN
	// and JOB-TOKEN become "REDACTED", Authorization its scheme and "REDACTED".
	Header http.Header
	// User is the basic-auth user name, if any (never the password).
	User string
	// Body is the body of /api/ requests (it never carries a secret: tokens are only in
	// answers). It is nil for /v2/ and /jwt/auth.
	Body []byte
}

// record appends r to the log. It reads and restores the body of API requests.
func (s *Server) record(r *http.Request) {
	rec := Request{Method: r.Method, EscapedPath: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()}
	for _, h := range []string{"PRIVATE-TOKEN", "JOB-TOKEN"} {
		if rec.Header.Get(h) != "" {
			rec.Header.Set(h, "REDACTED")
		}
	}
	if auth := rec.Header.Get("Authorization"); auth != "" {
		scheme, _, _ := strings.Cut(auth, " ")
		rec.Header.Set("Authorization", scheme+" REDACTED")
	}
	if user, _, ok := r.BasicAuth(); ok {
		rec.User = user
	}
	if strings.HasPrefix(r.URL.Path, apiPrefix) && r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody+1))
		rest := r.Body
		// Give the handler the whole body back: what was read, then whatever is left.
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), rest), rest}
		if err == nil && len(body) <= maxRecordedBody {
			rec.Body = body
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRecorded {
		s.requests = append(s.requests[:0], s.requests[len(s.requests)-maxRecorded+1:]...)
	}
	s.requests = append(s.requests, rec)
}

// Requests returns a copy of the requests received since the start or the last ResetRequests,
// oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		q := make(url.Values, len(r.Query))
		for k, v := range r.Query {
			q[k] = append([]string(nil), v...)
		}
		out[i] = Request{Method: r.Method, EscapedPath: r.EscapedPath, User: r.User, Query: q,
			Header: r.Header.Clone(), Body: bytes.Clone(r.Body)}
	}
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}
