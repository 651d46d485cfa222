package metrics

import (
	"net/http"
	"regexp"
	"strconv"
)

// Instrument wraps a provider's transport so each call is counted by provider, call and code.
func (m *Metrics) Instrument(provider string, next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		code := 0
		if err == nil {
			code = resp.StatusCode
		}
		m.APICall(provider, req.Method+" "+Route(req.URL.EscapedPath()), code)
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var idSegment = regexp.MustCompile(`/[0-9]+(/|$)`)

// Route turns a path into a label of bounded cardinality: numeric ids become {id}.
// "/api/v2.0/robots/42" → "/api/v2.0/robots/{id}".
func Route(path string) string {
	for {
		r := idSegment.ReplaceAllString(path, "/{id}$1")
		if r == path {
			return r
		}
		path = r
	}
}

func codeLabel(code int) string {
	if code == 0 {
		return "error" // no answer: network, TLS, timeout
	}
	return strconv.Itoa(code)
}
