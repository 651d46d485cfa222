package harbordouble

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
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
		ErrorLog:       log.New(io.Discard, "", 0),
		ModifyResponse: harborManifestNotFound,
	}
}

// harborManifestNotFound turns the registry's 404 MANIFEST_UNKNOWN to a manifest request into
// Harbor's answer: core looks the artifact up in its database first and answers 404 NOT_FOUND
// in its own shape (a HEAD without body).
func harborManifestNotFound(resp *http.Response) error {
	req := resp.Request
	if resp.StatusCode != http.StatusNotFound || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		return nil
	}
	rp, ok := parseRepoPath(req.URL.Path)
	if !ok || rp.kind != "manifests" {
		return nil
	}
	_ = resp.Body.Close()
	body := []byte{}
	if req.Method == http.MethodGet {
		body, _ = json.Marshal(models.Errors{Errors: []*models.Error{{Code: codeNotFound,
			Message: fmt.Sprintf("artifact %s not found", rp.artifact())}}})
		body = append(body, '\n')
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header = http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// forward proxies r to the registry.
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	if s.proxy == nil {
		writeError(w, &apiError{status: http.StatusBadGateway, code: codeUnknown, message: "no registry behind the Harbor double"})
		return
	}
	s.proxy.ServeHTTP(w, r)
}
