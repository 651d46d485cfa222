//go:build integration

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// TestRegistryTokenAuth runs the sandbox's registry (the pinned distribution v3 from the tools
// cache, with the very config startRegistry writes) behind the Harbor double, and checks that
// what the token service grants is what the registry enforces: a robot pulls its project only,
// and a refreshed, expired or deleted robot pulls nothing although the token service still
// answers 200. The registry binary is required (`make tools`): a missing one fails, never skips.
func TestRegistryTokenAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	issuer, err := registrytoken.NewIssuer("harbor-token-issuer", "harbor-registry")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := startRegistry(ctx, t.TempDir(), registryAuth{
		realm: "http://" + host + "/service/token", service: "harbor-registry", issuer: "harbor-token-issuer",
		rootCertPEM: issuer.CertPEM(),
	})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("registry log:\n%s", reg.proc.tail(30))
		}
		reg.proc.stop()
	})
	regURL, err := parseURL(reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClock{t: time.Now()}
	const adminPass = "Harbor-test-1"
	s, err := harbordouble.New(harbordouble.Options{
		AdminUsername: "admin", AdminPassword: adminPass, Projects: []string{"proj-a", "proj-b"},
		Registry: regURL, Issuer: issuer, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // returns ErrServerClosed on Close
	t.Cleanup(func() { srv.Close() })
	api := harborAPI{t: t, base: "http://" + host + "/api/v2.0", pass: adminPass}

	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(p string) name.Reference {
		r, err := name.NewTag(host+"/"+p+"/app:1.0", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	auth := func(user, pass string) remote.Option {
		return remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}))
	}
	for _, p := range []string{"proj-a", "proj-b"} {
		if err := remote.Write(ref(p), img, auth("admin", adminPass)); err != nil {
			t.Fatalf("admin push %s: %v", p, err)
		}
	}
	pull := func(user, pass, p string) error {
		_, err := remote.Get(ref(p), auth(user, pass))
		return err
	}
	wantDenied := func(what string, err error) {
		t.Helper()
		var terr *transport.Error
		if !errors.As(err, &terr) || (terr.StatusCode != http.StatusUnauthorized && terr.StatusCode != http.StatusForbidden) {
			t.Errorf("%s: err = %v, want the registry's 401/403", what, err)
		}
	}

	var robot struct {
		ID           int64
		Name, Secret string
	}
	api.call(http.MethodPost, "/robots", map[string]any{
		"name": "ci", "level": "project", "duration": 1, "description": "rotator",
		"permissions": []any{map[string]any{
			"kind": "project", "namespace": "proj-a",
			"access": []any{map[string]any{"resource": "repository", "action": "pull"}},
		}},
	}, http.StatusCreated, &robot)
	if err := pull(robot.Name, robot.Secret, "proj-a"); err != nil {
		t.Fatalf("robot pulls its project: %v", err)
	}
	wantDenied("robot of proj-a pulls proj-b", pull(robot.Name, robot.Secret, "proj-b"))
	other, err := random.Image(256, 1) // not in the registry yet: the push must really upload
	if err != nil {
		t.Fatal(err)
	}
	wantDenied("robot pushes", remote.Write(ref("proj-a"), other, auth(robot.Name, robot.Secret)))

	robotPath := fmt.Sprintf("/robots/%d", robot.ID)
	var refreshed struct{ Secret string }
	api.call(http.MethodPatch, robotPath, map[string]any{}, http.StatusOK, &refreshed)
	wantDenied("old secret after refresh", pull(robot.Name, robot.Secret, "proj-a"))
	if err := pull(robot.Name, refreshed.Secret, "proj-a"); err != nil {
		t.Fatalf("new secret: %v", err)
	}

	c.Advance(25 * time.Hour)
	wantDenied("expired robot", pull(robot.Name, refreshed.Secret, "proj-a"))
	c.Advance(-25 * time.Hour)
	api.call(http.MethodDelete, robotPath, nil, http.StatusOK, nil)
	wantDenied("deleted robot", pull(robot.Name, refreshed.Secret, "proj-a"))
	wantDenied("anonymous", pull("", "", "proj-a"))
}

// harborAPI calls the Harbor double's admin API.
type harborAPI struct {
	t          *testing.T
	base, pass string
}

func (h harborAPI) call(method, path string, body any, wantStatus int, out any) {
	h.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			h.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", h.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != wantStatus {
		h.t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, buf.Bytes(), wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, buf.Bytes(), err)
		}
	}
}

// testClock is a settable clock for the double's Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
