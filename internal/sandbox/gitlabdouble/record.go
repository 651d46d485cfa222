package gitlabdouble

import "github.com/rotatorhq/rotator/internal/sandbox/requestlog"

// Request is one request the double received, recorded before it was answered (faults
// included) with every credential redacted.
type Request = requestlog.Request

// newRequestLog keeps the bodies of API requests and redacts the double's credential headers.
func newRequestLog() *requestlog.Log {
	return &requestlog.Log{APIPrefix: apiPrefix, SecretHeaders: []string{"PRIVATE-TOKEN", "JOB-TOKEN"}}
}

// Requests returns a copy of the requests received since the start or the last ResetRequests,
// oldest first.
func (s *Server) Requests() []Request { return s.requests.Requests() }

// ResetRequests empties the request log.
func (s *Server) ResetRequests() { s.requests.Reset() }
