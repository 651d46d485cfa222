package requestlog

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecordRedactsAndKeepsTheBody(t *testing.T) {
	l := &Log{APIPrefix: "/api/", SecretHeaders: []string{"PRIVATE-TOKEN"}}
	r := httptest.NewRequest("POST", "/api/v4/projects/a%2Fb/deploy_tokens?page=2", strings.NewReader(`{"name":"x"}`))
	r.Header.Set("PRIVATE-TOKEN", "glpat-secret")
	r.SetBasicAuth("admin", "hunter2")
	l.Record(r)
	if b, _ := io.ReadAll(r.Body); string(b) != `{"name":"x"}` {
		t.Fatalf("the handler got body %q, want it whole", b)
	}
	reg := httptest.NewRequest("GET", "/v2/app/manifests/1", strings.NewReader("blob"))
	l.Record(reg)

	got := l.Requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	api := got[0]
	if api.EscapedPath != "/api/v4/projects/a%2Fb/deploy_tokens" || api.Query.Get("page") != "2" || api.User != "admin" || string(api.Body) != `{"name":"x"}` {
		t.Errorf("recorded %+v", api)
	}
	if api.Header.Get("PRIVATE-TOKEN") != "REDACTED" || api.Header.Get("Authorization") != "Basic REDACTED" {
		t.Errorf("credentials not redacted: %v", api.Header)
	}
	if got[1].Body != nil {
		t.Errorf("kept the body of a registry request: %q", got[1].Body)
	}
	got[0].Query.Set("page", "9") // a copy
	if l.Requests()[0].Query.Get("page") != "2" {
		t.Error("Requests returned the log's own maps")
	}
	l.Reset()
	if len(l.Requests()) != 0 {
		t.Error("Reset kept requests")
	}
}

func TestLogIsBounded(t *testing.T) {
	l := &Log{}
	for range maxRecorded + 5 {
		l.Record(httptest.NewRequest("GET", "/v2/", nil))
	}
	if n := len(l.Requests()); n != maxRecorded {
		t.Fatalf("%d requests kept, want the newest %d", n, maxRecorded)
	}
}
