package harbordouble

import (
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// newRegistryProxy forwards /v2/ to the real registry as Harbor's core does. The incoming Host
// is kept and X-Forwarded-Host/Proto are set, so whatever URL the registry builds from them
// (Location of an upload, the blob redirect) points back through the double.
func newRegistryProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			// The registry is down or unreachable: the gateway's answer, in the registry's own
			// error shape (which Harbor's matches).
			writeError(w, &apiError{status: http.StatusBadGateway, code: codeUnknown, message: err.Error()})
		},
		// A library logs nothing by default: the failure is in the answer already.
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

// serveRegistry serves /v2/ by proxying to the registry.
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	if s.proxy == nil {
		writeError(w, &apiError{status: http.StatusBadGateway, code: codeUnknown, message: "no registry behind the Harbor double"})
		return
	}
	s.proxy.ServeHTTP(w, r)
}
