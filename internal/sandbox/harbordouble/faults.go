package harbordouble

import (
	"net/http"
	"strings"
)

// fault answers the next n requests matching method and path prefix with status.
type fault struct {
	method, prefix string
	status, n      int
}

// FailNext makes the next n requests whose method is method (any method if "") and whose path
// starts with pathPrefix answer status with Harbor's error shape, without being served. Faults
// are consumed in the order they were added; each request consumes at most one. The requests
// are still recorded. It lets a test play a flaky or failing Harbor: FailNext("POST",
// "/api/v2.0/robots", 500, 1) fails the next robot creation once.
func (s *Server) FailNext(method, pathPrefix string, status int, n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, status: status, n: n})
}

// takeFault consumes and returns the status of the first fault matching r, or 0.
func (s *Server) takeFault(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.method != "" && f.method != r.Method) || !strings.HasPrefix(r.URL.Path, f.prefix) {
			continue
		}
		f.n--
		if f.n == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f.status
	}
	return 0
}

func writeFault(w http.ResponseWriter, status int) {
	e := &apiError{status: status, code: codeForStatus(status), message: "fault injected by the Harbor double"}
	if status == http.StatusTooManyRequests {
		// A client that honours Retry-After should not wait long in a test.
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, e)
}
