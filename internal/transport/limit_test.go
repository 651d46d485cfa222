package transport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A provider's answer larger than the limit fails when read, naming the URL but not its query;
// one of exactly the limit is read whole.
func TestLimitResponses(t *testing.T) {
	const max = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := max
		if r.URL.Path == "/big" {
			n = max + 1
		}
		_, _ = io.WriteString(w, strings.Repeat("x", n))
	}))
	defer srv.Close()
	c := &http.Client{Transport: LimitResponses(http.DefaultTransport, max)}
	read := func(path string) (int, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	if n, err := read("/exact?private_token=s3cret"); err != nil || n != max {
		t.Errorf("a body of exactly the limit: read %d bytes, %v", n, err)
	}
	n, err := read("/big?private_token=s3cret")
	if err == nil || n > max {
		t.Fatalf("a body over the limit: read %d bytes, error %v", n, err)
	}
	if !strings.Contains(err.Error(), "/big") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error must name the path and not the query: %v", err)
	}
}
