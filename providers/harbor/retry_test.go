package harbor

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestRetryGetOn503(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, s := newTestProvider(t, f)
	f.failNext("GET /api/v2.0/robots",
		fakeAnswer{status: http.StatusServiceUnavailable}, fakeAnswer{status: http.StatusBadGateway})

	if _, err := p.List(context.Background(), testSpec("team-a")); err != nil {
		t.Fatalf("List: %v", err)
	}
	if n := len(f.requestsTo(http.MethodGet, "/api/v2.0/robots")); n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}
	if want := []time.Duration{500 * time.Millisecond, time.Second}; !slices.Equal(s.got(), want) {
		t.Errorf("delays = %v, want %v", s.got(), want)
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, s := newTestProvider(t, f)
	for range 10 {
		f.failNext("GET /api/v2.0/robots/42", fakeAnswer{status: http.StatusServiceUnavailable})
	}
	err := p.Revoke(context.Background(), testSpec("team-a"), "42")
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Errorf("err = %v", err)
	}
	if n := len(f.requestsTo(http.MethodGet, "/api/v2.0/robots/42")); n != 4 || len(s.got()) != 3 {
		t.Errorf("%d requests, %d sleeps; want 4, 3", n, len(s.got()))
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, s := newTestProvider(t, f)
	f.failNext("GET /api/v2.0/projects/team-a",
		fakeAnswer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "7"}},
		fakeAnswer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "86400"}},
		fakeAnswer{status: http.StatusServiceUnavailable, header: map[string]string{
			"Retry-After": fakeNow.Add(12 * time.Second).Format(http.TimeFormat)}},
	)
	if _, err := p.List(context.Background(), testSpec("team-a")); err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []time.Duration{7 * time.Second, 30 * time.Second, 12 * time.Second} // the day is capped
	if !slices.Equal(s.got(), want) {
		t.Errorf("delays = %v, want %v", s.got(), want)
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	p, s := newTestProvider(t, f)
	f.failNext("GET /api/v2.0/robots", fakeAnswer{status: http.StatusBadRequest})
	if _, err := p.List(context.Background(), testSpec("team-a")); err == nil {
		t.Fatal("List succeeded")
	}
	if len(s.got()) != 0 {
		t.Errorf("retried a 400: delays %v", s.got())
	}
}

// refusingTransport refuses the first n connections, as a dialer does when nothing listens.
type refusingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (rt *refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return rt.next.RoundTrip(req)
}

func TestCreateRetriedOnlyWhenRefused(t *testing.T) {
	f := newFakeHarbor(t, "team-a")
	rt := &refusingTransport{next: http.DefaultTransport}
	p, s := newTestProvider(t, f, func(o *Options) { o.Transport = rt })
	if _, err := p.project(context.Background(), "team-a"); err != nil { // warm up: no refusal yet
		t.Fatal(err)
	}
	rt.n.Store(1) // the create's first connection is refused

	if _, err := p.Issue(context.Background(), testSpec("team-a")); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if n := len(f.requestsTo(http.MethodPost, "/api/v2.0/robots")); n != 1 || len(s.got()) != 1 {
		t.Errorf("Harbor saw %d creates after %d retries; want 1 after 1", n, len(s.got()))
	}
}

func TestAttemptTimeout(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release // the first request hangs
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"username":"admin"}`))
	}))
	defer srv.Close()
	defer close(release)

	p, _ := New(Options{URL: srv.URL, Username: "admin", Password: "pw"})
	s := &sleeps{}
	p.retry.Sleep = s.sleep
	p.retry.AttemptTimeout = 100 * time.Millisecond
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if calls.Load() != 2 || len(s.got()) != 1 {
		t.Errorf("%d calls, %d retries; want the hung call retried once", calls.Load(), len(s.got()))
	}
}
