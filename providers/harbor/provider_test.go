package harbor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Options{URL: "ftp://admin:TopSecret1@harbor.example.com/?x=1"})
	if err == nil {
		t.Fatal("New accepted bad options")
	}
	msg := err.Error()
	for _, want := range []string{"scheme", "must not hold credentials", "query", "username is required", "password is required"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "TopSecret1") {
		t.Errorf("error leaks the password in the URL: %s", msg)
	}
	if _, err := New(Options{URL: "harbor.example.com", Username: "a", Password: "b"}); err == nil {
		t.Error("New accepted a URL without scheme")
	}
}

func TestNewBuildsAPIPath(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/api/v2.0", srv.URL + "/api/v2.0/", srv.URL + "/harbor"} {
		p, err := New(Options{URL: base, Username: "admin", Password: "pw"})
		if err != nil {
			t.Fatalf("New(%q): %v", base, err)
		}
		if err := p.Ping(context.Background()); err != nil {
			t.Fatalf("Ping via %q: %v", base, err)
		}
	}
	want := "/api/v2.0/users/current,/api/v2.0/users/current,/api/v2.0/users/current,/api/v2.0/users/current,/harbor/api/v2.0/users/current"
	if got := strings.Join(paths, ","); got != want {
		t.Errorf("paths = %s\nwant    %s", got, want)
	}
}
