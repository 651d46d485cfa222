package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// auditEvent is the part of a kube-apiserver audit event (audit.k8s.io/v1, level Metadata) the
// benchmark reads.
type auditEvent struct {
	AuditID string `json:"auditID"`
	Stage   string `json:"stage"`
	Verb    string `json:"verb"`
	User    struct {
		Username string `json:"username"`
	} `json:"user"`
	RequestURI     string     `json:"requestURI"`
	UserAgent      string     `json:"userAgent"`
	ObjectRef      *objectRef `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceived time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp  time.Time `json:"stageTimestamp"`
}

// objectRef is the object a request was about.
type objectRef struct {
	Resource    string `json:"resource"`
	Subresource string `json:"subresource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
}

// resource is "secrets", "deployments", "events"...; "" for a non-resource URL (discovery,
// /openapi), which kubectl reads and client-go programs do not.
func (e auditEvent) resource() string {
	if e.ObjectRef == nil {
		return ""
	}
	if e.ObjectRef.Subresource != "" {
		return e.ObjectRef.Resource + "/" + e.ObjectRef.Subresource
	}
	return e.ObjectRef.Resource
}

func (e auditEvent) isWrite() bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// endStateWrite: a write of one of the objects that make up the end state the three methods
// must reach (the Secret, the ServiceAccount, the Deployments' templates). Events, Leases and
// the rotator's own state are extra work on top of it.
func (e auditEvent) endStateWrite() bool {
	if !e.isWrite() || e.ObjectRef == nil || e.ObjectRef.Subresource != "" {
		return false
	}
	switch e.ObjectRef.Resource {
	case "secrets", "serviceaccounts", "deployments":
		return !strings.HasPrefix(e.ObjectRef.Name, "rotator-state-")
	}
	return false
}

// auditLog reads the API server's audit log between marks. The API server rotates the file at
// 100 MB (lumberjack, renaming it audit-<time>.log beside it), which a 2,000-namespace run
// crosses: a mark names the file by inode, so the part renamed away is still read.
type auditLog struct{ path string }

// auditMark is a position in the log: the file (by inode) and the offset in it.
type auditMark struct {
	inode  uint64
	offset int64
}

// mark is the current end of the log.
func (a auditLog) mark() (auditMark, error) {
	st, err := os.Stat(a.path)
	if err != nil {
		return auditMark{}, fmt.Errorf("audit log: %w", err)
	}
	return auditMark{inode: inodeOf(st), offset: st.Size()}, nil
}

// since returns the completed requests of user after mark.
func (a auditLog) since(m auditMark, user string) ([]auditEvent, error) {
	return a.read(m, user, false)
}

// sinceAnyStage returns the events of user after mark at every stage the policy logs: a watch
// logs ResponseStarted when it opens and ResponseComplete only when it ends, so a watch still
// open is in this list and not in since's.
func (a auditLog) sinceAnyStage(m auditMark, user string) ([]auditEvent, error) {
	return a.read(m, user, true)
}

func (a auditLog) read(m auditMark, user string, anyStage bool) ([]auditEvent, error) {
	files, err := a.parts()
	if err != nil {
		return nil, err
	}
	var out []auditEvent
	found := false
	for _, path := range files {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		var from int64
		switch {
		case inodeOf(st) == m.inode:
			found, from = true, m.offset
		case !found:
			continue // rotated away before the mark
		}
		evs, err := readAudit(path, from, user, anyStage)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	if !found {
		return nil, fmt.Errorf("audit log %s: the file marked was rotated away and is gone", a.path)
	}
	return out, nil
}

// parts are the rotated files, oldest first (their names carry the time), then the live one.
func (a auditLog) parts() ([]string, error) {
	ext := filepath.Ext(a.path)
	rotated, err := filepath.Glob(strings.TrimSuffix(a.path, ext) + "-*" + ext)
	if err != nil {
		return nil, err
	}
	sort.Strings(rotated)
	return append(rotated, a.path), nil
}

func inodeOf(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

func readAudit(path string, from int64, user string, anyStage bool) ([]auditEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return parseAuditStages(f, user, anyStage)
}

// parseAudit returns the completed requests of user (stage ResponseComplete).
func parseAudit(r io.Reader, user string) ([]auditEvent, error) {
	return parseAuditStages(r, user, false)
}

// parseAuditStages returns user's events: only ResponseComplete, or (anyStage) every stage.
func parseAuditStages(r io.Reader, user string, anyStage bool) ([]auditEvent, error) {
	var out []auditEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		// Cheap pre-filter: the log also holds every request of the controllers.
		if !strings.Contains(string(line), `"username":"`+user+`"`) {
			continue
		}
		var e auditEvent
		if json.Unmarshal(line, &e) == nil && (anyStage || e.Stage == "ResponseComplete") && e.User.Username == user {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// requestStats summarises one run's requests as the API server saw them.
type requestStats struct {
	Total  int
	ByVerb map[string]int
	// ByVerbResource counts "verb resource" pairs ("get (discovery)" for non-resource URLs).
	ByVerbResource map[string]int
	// Writes and EndStateWrites count writes of any object and of the end-state objects.
	Writes, EndStateWrites int
	// Errors counts answers of 400 and above (404s of kubectl apply's first GET included).
	Errors int
	// LastEndStateWrite is when the last end-state write was answered (zero if none).
	LastEndStateWrite time.Time
	// First and Last request received / answered.
	First, Last time.Time
}

func summarise(evs []auditEvent) requestStats {
	s := requestStats{ByVerb: map[string]int{}, ByVerbResource: map[string]int{}}
	for _, e := range evs {
		s.Total++
		s.ByVerb[e.Verb]++
		res := e.resource()
		if res == "" {
			res = "(discovery/openapi)"
		}
		s.ByVerbResource[e.Verb+" "+res]++
		if e.isWrite() {
			s.Writes++
		}
		if e.endStateWrite() {
			s.EndStateWrites++
			if e.StageTimestamp.After(s.LastEndStateWrite) {
				s.LastEndStateWrite = e.StageTimestamp
			}
		}
		if e.ResponseStatus.Code >= 400 {
			s.Errors++
		}
		if s.First.IsZero() || e.RequestReceived.Before(s.First) {
			s.First = e.RequestReceived
		}
		if e.StageTimestamp.After(s.Last) {
			s.Last = e.StageTimestamp
		}
	}
	return s
}

// reads is every request that is not a write.
func (s requestStats) reads() int { return s.Total - s.Writes }

// verbs prints the counts by verb, most frequent first: "patch 600, create 300, get 2".
func (s requestStats) verbs() string { return formatCounts(s.ByVerb) }

// detail prints the counts by verb and resource.
func (s requestStats) detail() string { return formatCounts(s.ByVerbResource) }

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// receivedBetween returns one event per request (by audit ID) received in [from, to): its
// ResponseComplete when logged, else its ResponseStarted (a watch still open). Counting by the
// time a request was received, not logged, leaves out a watch opened before the window that
// ended in it, and keeps one opened in it that is still open.
func receivedBetween(evs []auditEvent, from, to time.Time) []auditEvent {
	byID := map[string]int{}
	var out []auditEvent
	for _, e := range evs {
		if e.Stage != "ResponseComplete" && e.Stage != "ResponseStarted" && e.Stage != "Panic" {
			continue
		}
		if e.RequestReceived.Before(from) || !e.RequestReceived.Before(to) {
			continue
		}
		if i, ok := byID[e.AuditID]; ok && e.AuditID != "" {
			if out[i].Stage == "ResponseStarted" {
				out[i] = e // the complete record of the same request
			}
			continue
		}
		byID[e.AuditID] = len(out)
		out = append(out, e)
	}
	return out
}
