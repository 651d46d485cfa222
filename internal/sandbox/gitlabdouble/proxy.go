package gitlabdouble

import (
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// newRegistryProxy forwards /v2/ to the real registry. The incoming Host is kept and
// X-Forwarded-Host/Proto are set, so whatever URL the registry builds from them (Location of an
// upload, a blob redirect) points back through the double.
func newRegistryProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			// The registry is down: the gateway's answer, in the registry's error shape.
			writeRegistryError(w, http.StatusBadGateway, "UNKNOWN", err.Error())
		},
		// A library logs nothing by default: the failure is in the answer already.
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

// serveRegistry serves /v2/ by proxying to the registry.
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	if s.proxy == nil {
		writeRegistryError(w, http.StatusBadGateway, "UNKNOWN", "no registry behind the GitLab double")
		return
	}
	s.proxy.ServeHTTP(w, r)
}

// writeRegistryError answers in the registry's (and /jwt/auth's) error shape,
// {"errors":[{"code","message"}]}.
func writeRegistryError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
}
