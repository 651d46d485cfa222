//go:build integration

package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Harbor faults end with the old credential working and a clear report: a 5xx on the robot
// create is not blindly retried (the robot may exist) and fails the run; 5xx and 429 on reads
// are retried with back-off.
func TestHarborFaults(t *testing.T) {
	nss, cfg := rotatedOnce(t, "hfault", 1)
	oldUser, oldPass := secretCredential(t, nss[0], "harbor-pull")
	robotsBefore := len(robotsNamed("rotator-hfault-"))

	rig.Harbor.FailNext("POST", "/api/v2.0/robots", http.StatusInternalServerError, 1)
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 1 {
		t.Fatalf("a Harbor 500 on create must fail the run, exit %d", res.Code)
	}
	msg := strings.Join(res.Reports[0].Errors, "\n")
	if !strings.Contains(msg, "500") || !strings.Contains(strings.ToLower(msg), "harbor") {
		t.Fatalf("the error must name Harbor and its answer: %s", msg)
	}
	if u, _ := secretCredential(t, nss[0], "harbor-pull"); u != oldUser {
		t.Fatalf("the secret changed after a failed issue")
	}
	if err := pull(rig.Images["proj-a"], oldUser, oldPass); err != nil {
		t.Fatalf("old credential broken by a Harbor fault: %v", err)
	}
	if n := len(robotsNamed("rotator-hfault-")); n != robotsBefore {
		t.Fatalf("robots before %d after %d", robotsBefore, n)
	}

	// Transient read faults: retried, the rotation succeeds.
	rig.Harbor.FailNext("GET", "/api/v2.0/projects/", http.StatusServiceUnavailable, 1)
	rig.Harbor.FailNext("GET", "/api/v2.0/projects/", http.StatusTooManyRequests, 1)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("transient Harbor faults must be retried:\n%s\n%s", res.Stdout, res.Stderr)
	}
}

// faultProxy sits between the rotator and the real API server and answers chosen requests
// with an error, the way an overloaded or contended API server does.
type faultProxy struct {
	mu     sync.Mutex
	rules  []*apiFault
	server *httptest.Server
}

type apiFault struct {
	method, pathContains string
	status, n            int
	retryAfter           string
}

func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	target, _ := url.Parse(rig.KubeURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback test proxy to the sandbox
	fp := &faultProxy{}
	fp.server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := fp.take(r); f != nil {
			reason := map[int]string{409: "Conflict", 429: "TooManyRequests", 500: "InternalError"}[f.status]
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"fault injected","reason":%q,"code":%d}`, reason, f.status)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.server.Close)
	return fp
}

func (p *faultProxy) add(f *apiFault) { p.mu.Lock(); p.rules = append(p.rules, f); p.mu.Unlock() }

func (p *faultProxy) take(r *http.Request) *apiFault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.rules {
		if f.n > 0 && r.Method == f.method && strings.Contains(r.URL.Path, f.pathContains) {
			f.n--
			return f
		}
	}
	return nil
}

// kubeconfig for the rotator user through the proxy (the rotator token, the proxy's own cert).
func (p *faultProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(rig.RotatorKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "server: "+rig.KubeURL, "server: "+p.server.URL+"\n    insecure-skip-tls-verify: true", 1)
	s = strings.Replace(s, "    certificate-authority: "+rig.CAFile()+"\n", "", 1)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// API server faults: 409 conflicts and 429 throttling are retried and the rotation completes;
// persistent 500s on one namespace fail the run naming it, every namespace keeps a working
// secret, and the next run completes.
func TestAPIServerFaults(t *testing.T) {
	nss, cfg := rotatedOnce(t, "apifault", 2)
	proxy := newFaultProxy(t)
	kc := proxy.kubeconfig(t)

	proxy.add(&apiFault{method: "PUT", pathContains: "/namespaces/" + nss[0] + "/secrets/harbor-pull", status: 409, n: 1})
	proxy.add(&apiFault{method: "PUT", pathContains: "/namespaces/" + nss[1] + "/secrets/harbor-pull", status: 429, n: 2, retryAfter: "1"})
	proxy.add(&apiFault{method: "PATCH", pathContains: "/namespaces/" + nss[0] + "/deployments/web", status: 409, n: 1})
	res := runRotator(t, kc, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("conflicts and throttling must be retried:\n%s\n%s", res.Stdout, res.Stderr)
	}

	oldUser, oldPass := secretCredential(t, nss[1], "harbor-pull")
	proxy.add(&apiFault{method: "PUT", pathContains: "/namespaces/" + nss[1] + "/secrets/harbor-pull", status: 500, n: 20})
	res = runRotator(t, kc, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 1 || !strings.Contains(strings.Join(res.Reports[0].Errors, "\n"), nss[1]) {
		t.Fatalf("persistent 500s must fail the run naming %s: exit %d %v", nss[1], res.Code, res.Reports[0].Errors)
	}
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if err := pull(rig.Images["proj-a"], u, p); err != nil {
			t.Fatalf("namespace %s lost its working secret: %v", ns, err)
		}
	}
	if err := pull(rig.Images["proj-a"], oldUser, oldPass); err != nil {
		t.Fatalf("the old credential was revoked while %s still holds it: %v", nss[1], err)
	}
	proxy.mu.Lock()
	proxy.rules = nil
	proxy.mu.Unlock()
	if res := runRotator(t, kc, "rotate", "now", "--config", cfg); res.Code != 0 {
		t.Fatalf("the next run must complete:\n%s", res.Stderr)
	}
	u0, _ := secretCredential(t, nss[0], "harbor-pull")
	u1, _ := secretCredential(t, nss[1], "harbor-pull")
	if u0 != u1 {
		t.Fatalf("namespaces hold different credentials after completion")
	}
}
