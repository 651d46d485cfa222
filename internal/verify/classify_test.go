package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func req(method, rawURL string) *http.Request {
	u, _ := url.Parse(rawURL)
	return &http.Request{Method: method, URL: u}
}

func TestClassify(t *testing.T) {
	manifest := req(http.MethodGet, "https://reg.io/v2/team/app/manifests/1")
	tests := []struct {
		name   string
		err    error
		reason Reason
		stage  Stage
	}{
		{"401 code at manifest", &transport.Error{StatusCode: 401, Request: manifest, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode}}}, ReasonUnauthorized, StageManifest},
		{"401 at token", &transport.Error{StatusCode: 401, Request: req(http.MethodGet, "https://gitlab.example.com/jwt/auth?scope=x")}, ReasonUnauthorized, StageToken},
		{"403 DENIED at token", &transport.Error{StatusCode: 403, Request: req(http.MethodGet, "https://gitlab.example.com/jwt/auth"), Errors: []transport.Diagnostic{{Code: transport.DeniedErrorCode, Message: "access forbidden"}}}, ReasonDenied, StageToken},
		{"bare 403 at token (GitLab IP ban) is no verdict", &transport.Error{StatusCode: 403, Request: req(http.MethodGet, "https://gitlab.example.com/jwt/auth")}, ReasonOther, StageToken},
		{"DENIED code", &transport.Error{StatusCode: 403, Request: manifest, Errors: []transport.Diagnostic{{Code: transport.DeniedErrorCode}}}, ReasonDenied, StageManifest},
		{"404 at HEAD without body", &transport.Error{StatusCode: 404, Request: req(http.MethodHead, manifest.URL.String())}, ReasonNotFound, StageManifest},
		{"NAME_UNKNOWN", &transport.Error{StatusCode: 404, Request: manifest, Errors: []transport.Diagnostic{{Code: transport.NameUnknownErrorCode}}}, ReasonNotFound, StageManifest},
		{"Harbor NOT_FOUND at manifest", &transport.Error{StatusCode: 404, Request: manifest, Errors: []transport.Diagnostic{{Code: "NOT_FOUND"}}}, ReasonNotFound, StageManifest},
		{"412 PROJECTPOLICYVIOLATION at GET", &transport.Error{StatusCode: 412, Request: manifest, Errors: []transport.Diagnostic{{Code: "PROJECTPOLICYVIOLATION", Message: "The image is not signed by cosign."}}}, ReasonPolicy, StageManifest},
		{"412 at HEAD without body", &transport.Error{StatusCode: 412, Request: req(http.MethodHead, manifest.URL.String())}, ReasonPolicy, StageManifest},
		{"412 with another code", &transport.Error{StatusCode: 412, Request: manifest, Errors: []transport.Diagnostic{{Code: "PRECONDITION"}}}, ReasonOther, StageManifest},
		{"412 at token is no policy", &transport.Error{StatusCode: 412, Request: req(http.MethodGet, "https://harbor.example.com/service/token")}, ReasonOther, StageToken},
		{"PROJECTPOLICYVIOLATION at /v2/ is no policy", &transport.Error{StatusCode: 412, Request: req(http.MethodGet, "https://reg.io/v2/"), Errors: []transport.Diagnostic{{Code: "PROJECTPOLICYVIOLATION"}}}, ReasonOther, StagePing},
		{"403 DENIED at /v2/ is no refused credential", &transport.Error{StatusCode: 403, Request: req(http.MethodGet, "https://reg.io/v2/"), Errors: []transport.Diagnostic{{Code: transport.DeniedErrorCode}}}, ReasonOther, StagePing},
		{"404 at /v2/ is no missing image", &transport.Error{StatusCode: 404, Request: req(http.MethodGet, "https://reg.io/v2/")}, ReasonOther, StagePing},
		{"429", &transport.Error{StatusCode: 429, Request: manifest, Errors: []transport.Diagnostic{{Code: transport.TooManyRequestsErrorCode}}}, ReasonOther, StageManifest},
		{"private realm", fmt.Errorf("invalid realm in www-authenticate: %w", errors.New(`realm host "10.0.0.5" is a private or link-local address`)), ReasonRealmRefused, StagePing},
		{"http realm", errors.New(`invalid realm in www-authenticate: realm scheme "http" not allowed for a secure registry; use https`), ReasonRealmRefused, StagePing},
		{"unknown authority", &url.Error{Op: "Get", URL: "https://reg.io/v2/", Err: x509.UnknownAuthorityError{}}, ReasonTLS, StageNone},
		{"hostname", &url.Error{Op: "Get", URL: "https://reg.io/v2/", Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "reg.io"}}, ReasonTLS, StageNone},
		{"plain http registry", errors.New(`Get "https://reg.io/v2/": http: server gave HTTP response to HTTPS client`), ReasonTLS, StageNone},
		{"dns", &url.Error{Op: "Get", URL: "https://reg.io/v2/", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "reg.io"}}}, ReasonNetwork, StageNone},
		{"refused", &url.Error{Op: "Get", URL: "https://reg.io/v2/", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, ReasonNetwork, StageNone},
		{"deadline", fmt.Errorf("ping: %w", context.DeadlineExceeded), ReasonTimeout, StageNone},
		{"canceled", fmt.Errorf("ping: %w", context.Canceled), ReasonOther, StageNone},
		{"empty token", errors.New("no token in bearer response:\n{\"x\":1}"), ReasonOther, StageToken},
		{"other", errors.New("something else"), ReasonOther, StageNone},
	}
	for _, tt := range tests {
		pe := &PullError{Image: "reg.io/team/app:1", Registry: "reg.io"}
		classify(pe, tt.err)
		if pe.Reason != tt.reason || pe.Stage != tt.stage {
			t.Errorf("%s: Reason, Stage = %s, %q; want %s, %q", tt.name, pe.Reason, pe.Stage, tt.reason, tt.stage)
		}
		if !errors.Is(pe, tt.err) {
			t.Errorf("%s: PullError does not unwrap to the cause", tt.name)
		}
		if pe.Error() == "" || !strings.Contains(pe.Error(), "reg.io/team/app:1") {
			t.Errorf("%s: Error() = %q", tt.name, pe.Error())
		}
	}
}

func TestRealmRefusedTexts(t *testing.T) {
	private := &PullError{Image: "i", Reason: ReasonRealmRefused, Detail: `realm host "127.0.0.1" is a private or link-local address`}
	scheme := &PullError{Image: "i", Reason: ReasonRealmRefused, Detail: `realm scheme "http" not allowed for a secure registry`}
	if !strings.Contains(private.Error(), "private or loopback IP literal") || !strings.Contains(private.Error(), "not a bad credential") {
		t.Errorf("private: %s", private.Error())
	}
	if !strings.Contains(scheme.Error(), "uses http") || !strings.Contains(scheme.Error(), "not a bad credential") {
		t.Errorf("scheme: %s", scheme.Error())
	}
}

func TestScrub(t *testing.T) {
	got := scrub("token endpoint said: bad password hunter2 (aHVudGVyMg==)", []string{"hunter2", "aHVudGVyMg=="})
	if strings.Contains(got, "hunter2") || strings.Contains(got, "aHVudGVyMg==") {
		t.Errorf("scrub = %q", got)
	}
}

func TestTimeoutDefault(t *testing.T) {
	if got := (Checker{}).timeout(); got != DefaultTimeout {
		t.Errorf("zero Timeout: %v, want DefaultTimeout %v", got, DefaultTimeout)
	}
	if got := (Checker{Timeout: time.Second}).timeout(); got != time.Second {
		t.Errorf("Timeout 1s: %v", got)
	}
}
