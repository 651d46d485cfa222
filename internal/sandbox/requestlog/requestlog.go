// Package requestlog records what the API doubles (harbordouble, gitlabdouble) receive, with
// every credential redacted, for tests to assert on what a client sent.
package requestlog

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

const (
	// maxRecorded bounds the log so a long `make demo` does not grow without end; the oldest
	// requests are dropped first.
	maxRecorded = 10000
	// maxRecordedBody bounds a recorded API body; the APIs never take more than a few KiB.
	maxRecordedBody = 1 << 20
)

// Request is one request a double received, recorded before it was answered (faults included).
type Request struct {
	Method string
	// EscapedPath is the path as sent, e.g. /api/v4/projects/group-a%2Fapp/deploy_tokens.
	EscapedPath string
	Query       url.Values
	// Header is a copy of the request headers with every credential replaced: the headers the
	// Log was told of become "REDACTED", Authorization its scheme and "REDACTED".
	Header http.Header
	// User is the basic-auth user name, if any (never the password).
	User string
	// Body is the body of API requests (under the Log's APIPrefix). It is nil for the registry
	// and the token service, which have no body worth keeping.
	Body []byte
}

// Log is a bounded, concurrency-safe request log. The zero value records no bodies and redacts
// only Authorization.
type Log struct {
	// APIPrefix: requests under it have their body kept, e.g. /api/.
	APIPrefix string
	// SecretHeaders are headers that carry a credential beside Authorization, e.g. PRIVATE-TOKEN.
	SecretHeaders []string

	mu       sync.Mutex
	requests []Request
}

// Record appends r. It reads and restores the body of API requests.
func (l *Log) Record(r *http.Request) {
	rec := Request{Method: r.Method, EscapedPath: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()}
	for _, h := range l.SecretHeaders {
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
	if l.APIPrefix != "" && strings.HasPrefix(r.URL.Path, l.APIPrefix) && r.Body != nil && r.Body != http.NoBody {
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
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.requests) >= maxRecorded {
		l.requests = append(l.requests[:0], l.requests[len(l.requests)-maxRecorded+1:]...)
	}
	l.requests = append(l.requests, rec)
}

// Requests returns a copy of the requests recorded since the start or the last Reset, oldest
// first.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Request, len(l.requests))
	for i, r := range l.requests {
		q := make(url.Values, len(r.Query))
		for k, v := range r.Query {
			q[k] = append([]string(nil), v...)
		}
		out[i] = Request{Method: r.Method, EscapedPath: r.EscapedPath, User: r.User, Query: q,
			Header: r.Header.Clone(), Body: bytes.Clone(r.Body)}
	}
	return out
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = nil
}
