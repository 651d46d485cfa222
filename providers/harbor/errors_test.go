package harbor

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/providers"
)

func TestPing(t *testing.T) {
	f := newFakeHarbor(t)
	p, _ := newTestProvider(t, f)
	if err := p.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if got := f.allRequests(); len(got) != 1 || got[0] != "GET /api/v2.0/users/current" {
		t.Errorf("requests = %q", got)
	}
}

func TestPingAsRobotAccount(t *testing.T) {
	f := newFakeHarbor(t)
	f.user, f.pass = "robot$rotator-admin", "RobotSecret1"
	p, _ := newTestProvider(t, f, func(o *Options) { o.Username, o.Password = f.user, f.pass })
	if err := p.Ping(context.Background()); err != nil {
		t.Errorf("Ping as a robot (Harbor answers 412 to users/current): %v", err)
	}
}

func TestPingWrongCredentials(t *testing.T) {
	f := newFakeHarbor(t)
	p, _ := newTestProvider(t, f, func(o *Options) { o.Password = "Wrong-Password-123" })
	err := p.Ping(context.Background())
	if !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Errorf("err does not wrap the 401 APIError: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`"admin"`, f.srv.URL, "check the username and password", "unauthorized"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "Wrong-Password-123") {
		t.Errorf("error leaks the password: %s", msg)
	}
}

func TestStatusMapping(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		kind   error
		want   []string
	}{
		"401": {http.StatusUnauthorized, providers.ErrAuth, []string{"refused the admin credentials", `"admin"`}},
		"403": {http.StatusForbidden, providers.ErrForbidden, []string{"project admin", `"team-a"`, "denied by harbor"}},
		"404": {http.StatusNotFound, providers.ErrNotFound, []string{"check that the URL points at Harbor"}},
		"400": {http.StatusBadRequest, nil, []string{"400 Bad Request", "denied by harbor"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeHarbor(t, "team-a")
			p, _ := newTestProvider(t, f)
			f.failNext("POST /api/v2.0/robots", fakeAnswer{
				status: tc.status,
				body:   `{"errors":[{"code":"X","message":"denied by harbor"}]}`,
			})
			_, err := p.Issue(context.Background(), testSpec("team-a"))
			if err == nil {
				t.Fatal("Issue succeeded")
			}
			for _, kind := range []error{providers.ErrAuth, providers.ErrForbidden, providers.ErrNotFound} {
				if errors.Is(err, kind) != (errors.Is(kind, tc.kind)) {
					t.Errorf("errors.Is(err, %v) = %v; err = %v", kind, !(errors.Is(kind, tc.kind)), err)
				}
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), fakePassword) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestListForbiddenNamesPermission(t *testing.T) {
	f := newFakeHarbor(t, "team-a", "team-b")
	p, _ := newTestProvider(t, f)
	f.failNext("GET /api/v2.0/robots", fakeAnswer{status: http.StatusForbidden, body: `{"errors":[{"code":"FORBIDDEN","message":"forbidden"}]}`})
	_, err := p.List(context.Background(), testSpec("team-a", "team-b"))
	if !errors.Is(err, providers.ErrForbidden) || !strings.Contains(err.Error(), "system-level robot create, list, read and delete permissions") ||
		!strings.Contains(err.Error(), "needs the Harbor system admin role") {
		t.Errorf("err = %v, want ErrForbidden naming the system admin role and the robot permissions", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is the point
	srv.StartTLS()
	defer srv.Close()
	// The default transport does not trust httptest's certificate, as a real one would not
	// trust a private CA without the CA bundle.
	p, err := New(Options{URL: srv.URL, Username: "admin", Password: "pw", Transport: http.DefaultTransport.(*http.Transport).Clone()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CA bundle") || !strings.Contains(err.Error(), "insecureSkipVerify") ||
		!strings.Contains(err.Error(), srv.URL) {
		t.Errorf("err = %v, want a TLS hint naming the URL", err)
	}

	// With the caller's transport trusting the CA, the same server is reachable.
	p, _ = New(Options{URL: srv.URL, Username: "admin", Password: "pw", Transport: srv.Client().Transport})
	if err := p.Ping(context.Background()); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Ping through a trusting transport = %v, want the server's 404", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more: connection refused
	p, _ := New(Options{URL: url, Username: "admin", Password: "pw"})
	s := &sleeps{}
	p.retry.Sleep = s.sleep
	err := p.Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused the connection") || !strings.Contains(err.Error(), url) {
		t.Errorf("err = %v, want a connection refused hint naming the URL", err)
	}
	if len(s.got()) != p.retry.Attempts-1 {
		t.Errorf("retried %d times, want %d", len(s.got()), p.retry.Attempts-1)
	}
}

func TestRedirectIsReported(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("https://harbor.example.com/api/v2.0/users/current", http.StatusMovedPermanently))
	defer srv.Close()
	p, _ := New(Options{URL: srv.URL, Username: "admin", Password: "pw"})
	err := p.Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redirects to") || !strings.Contains(err.Error(), "https://harbor.example.com") {
		t.Errorf("err = %v, want a redirect hint", err)
	}
}

func TestErrorMessages(t *testing.T) {
	for body, want := range map[string][]string{
		`{"errors":[{"code":"A","message":"first"},{"code":"B"}]}`: {"first", "B"},
		"upstream connect error":                                   {"upstream connect error"},
		"<html><body>502 Bad Gateway</body></html>":                nil,
		"": nil,
	} {
		_, got := errorMessages([]byte(body))
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("errorMessages(%q) = %q, want %q", body, got, want)
		}
	}
}
