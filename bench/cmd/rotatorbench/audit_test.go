package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines as kube-apiserver writes them at level Metadata (trimmed to the fields read).
const auditSample = `{"kind":"Event","level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/secrets","verb":"create","user":{"username":"rotator"},"objectRef":{"resource":"secrets","namespace":"a","name":"harbor-pull"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2026-11-24T10:00:00.000000Z","stageTimestamp":"2026-11-24T10:00:00.010000Z"}
{"kind":"Event","level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/events","verb":"create","user":{"username":"rotator"},"objectRef":{"resource":"events","namespace":"a"},"responseStatus":{"code":201},"requestReceivedTimestamp":"2026-11-24T10:00:01.000000Z","stageTimestamp":"2026-11-24T10:00:01.010000Z"}
{"kind":"Event","level":"Metadata","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/a/deployments/web","verb":"patch","user":{"username":"admin"},"objectRef":{"resource":"deployments","namespace":"a","name":"web"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:00:02.000000Z","stageTimestamp":"2026-11-24T10:00:02.010000Z"}
{"kind":"Event","level":"Metadata","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/a/deployments/web","verb":"patch","user":{"username":"rotator"},"objectRef":{"resource":"deployments","namespace":"a","name":"web"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:00:00.500000Z","stageTimestamp":"2026-11-24T10:00:00.600000Z"}
{"kind":"Event","level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/rotator-system/secrets/rotator-state-bench","verb":"update","user":{"username":"rotator"},"objectRef":{"resource":"secrets","namespace":"rotator-system","name":"rotator-state-bench"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:00:03.000000Z","stageTimestamp":"2026-11-24T10:00:03.010000Z"}
{"kind":"Event","level":"Metadata","stage":"ResponseComplete","requestURI":"/api?timeout=32s","verb":"get","user":{"username":"rotator"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:00:00.100000Z","stageTimestamp":"2026-11-24T10:00:00.110000Z"}
{"kind":"Event","level":"Metadata","stage":"ResponseStarted","requestURI":"/api/v1/secrets?watch=1","verb":"watch","user":{"username":"rotator"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:00:00.100000Z","stageTimestamp":"2026-11-24T10:00:00.110000Z"}
`

func TestSummariseCountsOneIdentityAtTheServer(t *testing.T) {
	evs, err := parseAudit(strings.NewReader(auditSample), "rotator")
	if err != nil {
		t.Fatal(err)
	}
	s := summarise(evs)
	if s.Total != 5 || s.Writes != 4 || s.reads() != 1 {
		t.Fatalf("total %d writes %d reads %d, want 5, 4, 1 (admin's request and the unfinished watch left out): %s", s.Total, s.Writes, s.reads(), s.detail())
	}
	// The end state is the Secret and the template; the event and the rotator's own state are
	// extra work, so the last end-state write is the template patch at .600.
	if s.EndStateWrites != 2 {
		t.Fatalf("end-state writes %d, want 2 (secret, deployment): %s", s.EndStateWrites, s.detail())
	}
	want := time.Date(2026, 11, 24, 10, 0, 0, 600_000_000, time.UTC)
	if !s.LastEndStateWrite.Equal(want) {
		t.Fatalf("last end-state write %s, want %s", s.LastEndStateWrite, want)
	}
	if got := s.detail(); got != "create events 1, create secrets 1, get (discovery/openapi) 1, patch deployments 1, update secrets 1" {
		t.Fatalf("detail: %s", got)
	}
	if got := s.verbs(); got != "create 2, get 1, patch 1, update 1" {
		t.Fatalf("verbs: %s", got)
	}
}

func TestProgressSteps(t *testing.T) {
	out := []byte(`[bench] plan           300 namespaces, 600 dependent workloads, 0 to revoke: rotate now (85ms)
[bench] write          1/300 secret bench-0000/harbor-pull created (12ms)
[bench] write          300/300 secret bench-0299/harbor-pull created (6.481s)
[bench] restart        600/600 deployment bench-0299/via-sa rolled out (1m2.5s)
not a progress line (1s)
`)
	got := progressSteps(out)
	want := map[string]time.Duration{"plan": 85 * time.Millisecond, "write": 6481 * time.Millisecond, "restart": 62500 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: got %s, want %s", k, got[k], v)
		}
	}
}

// The API server renames its audit log when it reaches its size limit: requests logged before
// the rename, after the mark, still count.
func TestSinceFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	a := auditLog{path: filepath.Join(dir, "audit.log")}
	lines := strings.Split(strings.TrimSpace(auditSample), "\n")
	if err := os.WriteFile(a.path, []byte(lines[0]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := a.mark()
	if err != nil {
		t.Fatal(err)
	}
	appendTo(t, a.path, lines[1]+"\n") // after the mark, in the file then renamed
	if err := os.Rename(a.path, filepath.Join(dir, "audit-2026-11-25T01-20-00.000.log")); err != nil {
		t.Fatal(err)
	}
	appendTo(t, a.path, lines[3]+"\n"+lines[4]+"\n") // the new live file
	evs, err := a.since(m, "rotator")
	if err != nil {
		t.Fatal(err)
	}
	if s := summarise(evs); s.Total != 3 || s.detail() != "create events 1, patch deployments 1, update secrets 1" {
		t.Fatalf("got %d requests (%s), want the event before the rename and the two after, not the secret before the mark", s.Total, s.detail())
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"rotator, write phase":                 "rotator-write-phase",
		"rotator, default (with rollout wait)": "rotator-default-with-rollout-wait",
		"rotator, write phase, qps 50":         "rotator-write-phase-qps-50",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
