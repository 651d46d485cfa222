package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines of the service's requests as the audit log has them: a watch opened before the window
// and ended in it, one opened in it and still open, lease renewals, a list, a write.
const idleSample = `{"auditID":"w1","stage":"ResponseStarted","verb":"watch","user":{"username":"rotator"},"requestURI":"/api/v1/namespaces?watch=true","objectRef":{"resource":"namespaces"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T09:59:00.000000Z","stageTimestamp":"2026-11-24T09:59:00.010000Z"}
{"auditID":"w1","stage":"ResponseComplete","verb":"watch","user":{"username":"rotator"},"requestURI":"/api/v1/namespaces?watch=true","objectRef":{"resource":"namespaces"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T09:59:00.000000Z","stageTimestamp":"2026-11-24T10:01:00.000000Z"}
{"auditID":"w2","stage":"ResponseStarted","verb":"watch","user":{"username":"rotator"},"requestURI":"/api/v1/namespaces?watch=true","objectRef":{"resource":"namespaces"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:01:00.100000Z","stageTimestamp":"2026-11-24T10:01:00.110000Z"}
{"auditID":"l1","stage":"ResponseComplete","verb":"update","user":{"username":"rotator"},"requestURI":"/apis/coordination.k8s.io/v1/namespaces/rotator-system/leases/rotator-leader","objectRef":{"resource":"leases","namespace":"rotator-system","name":"rotator-leader"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:02:00.000000Z","stageTimestamp":"2026-11-24T10:02:00.010000Z"}
{"auditID":"l2","stage":"ResponseComplete","verb":"get","user":{"username":"rotator"},"requestURI":"/apis/coordination.k8s.io/v1/namespaces/rotator-system/leases/rotator-leader","objectRef":{"resource":"leases","namespace":"rotator-system","name":"rotator-leader"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:02:02.000000Z","stageTimestamp":"2026-11-24T10:02:02.010000Z"}
{"auditID":"x1","stage":"ResponseComplete","verb":"list","user":{"username":"rotator"},"requestURI":"/api/v1/secrets?fieldSelector=metadata.name%3Dharbor-pull&limit=500","objectRef":{"resource":"secrets"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:03:00.000000Z","stageTimestamp":"2026-11-24T10:03:00.200000Z"}
{"auditID":"x2","stage":"ResponseComplete","verb":"get","user":{"username":"rotator"},"requestURI":"/apis/coordination.k8s.io/v1/namespaces/rotator-system/leases/rotator-run","objectRef":{"resource":"leases","namespace":"rotator-system","name":"rotator-run"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:04:00.000000Z","stageTimestamp":"2026-11-24T10:04:00.010000Z"}
{"auditID":"x3","stage":"ResponseComplete","verb":"list","user":{"username":"rotator"},"requestURI":"/api/v1/pods","objectRef":{"resource":"pods"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-24T10:11:00.000000Z","stageTimestamp":"2026-11-24T10:11:00.010000Z"}
`

func TestIdleCountsRequestsReceivedInTheWindowOnce(t *testing.T) {
	evs, err := parseAuditStages(strings.NewReader(idleSample), "rotator", true)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	got := receivedBetween(evs, from, from.Add(10*time.Minute))
	// w1 was received before the window (it ended in it); x3 after it. w2 is still open: its
	// ResponseStarted stands for it.
	if len(got) != 5 {
		t.Fatalf("got %d requests, want 5 (w2, l1, l2, x1, x2): %+v", len(got), got)
	}
	s := classifyIdle(got)
	if s.Watches != 1 || s.LeaseUpdates != 1 || s.LeaseGets != 1 || s.Lists != 1 || len(s.Other) != 2 {
		t.Fatalf("watches %d, lease updates %d, gets %d, lists %d, other %d; want 1, 1, 1, 1, 2 (the list and the run lock's get)",
			s.Watches, s.LeaseUpdates, s.LeaseGets, s.Lists, len(s.Other))
	}
	if s.ListsByResource["secrets"] != 1 || s.Other[0].URI != "/api/v1/secrets?fieldSelector=metadata.name%3Dharbor-pull&limit=500" {
		t.Fatalf("the list is not named: %+v", s)
	}
	// Only ResponseComplete, as since reads: the open watch is missing.
	done, err := parseAudit(strings.NewReader(idleSample), "rotator")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(receivedBetween(done, from, from.Add(10*time.Minute))); n != 4 {
		t.Fatalf("completed requests in the window: %d, want 4", n)
	}
}

func TestReceivedBetweenKeepsTheCompleteRecord(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	evs := []auditEvent{
		{AuditID: "a", Stage: "ResponseStarted", Verb: "watch", RequestReceived: at},
		{AuditID: "a", Stage: "ResponseComplete", Verb: "watch", RequestReceived: at, StageTimestamp: at.Add(5 * time.Minute)},
	}
	got := receivedBetween(evs, at, at.Add(time.Hour))
	if len(got) != 1 || got[0].Stage != "ResponseComplete" {
		t.Fatalf("got %+v, want the one request, its complete record", got)
	}
}

func TestTimeReactionsFromTheAuditLog(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	ref := func(res, ns, name string) *objectRef { return &objectRef{Resource: res, Namespace: ns, Name: name} }
	ev := func(verb string, code int, received, done time.Duration, r *objectRef) auditEvent {
		e := auditEvent{Verb: verb, ObjectRef: r, RequestReceived: at.Add(received), StageTimestamp: at.Add(done)}
		e.ResponseStatus.Code = code
		return e
	}
	want := map[string]*reaction{"a": {Namespace: "a"}, "b": {Namespace: "b"}}
	admin := []auditEvent{
		ev("create", 201, 0, 20*time.Millisecond, ref("namespaces", "", "a")),
		ev("create", 201, 5*time.Millisecond, 30*time.Millisecond, ref("namespaces", "", "b")),
		ev("create", 201, 0, 0, ref("namespaces", "", "other")),
	}
	rot := []auditEvent{
		ev("create", 201, 0, 400*time.Millisecond, ref("secrets", "a", secretName)),
		ev("create", 409, 0, 300*time.Millisecond, ref("secrets", "a", secretName)), // a failed write counts for nothing
		ev("patch", 200, 0, 900*time.Millisecond, ref("serviceaccounts", "a", serviceAccount)),
		ev("create", 201, 0, 500*time.Millisecond, ref("events", "a", "x")),
		ev("create", 201, 0, 700*time.Millisecond, ref("secrets", "b", secretName)),
	}
	if n := timeReactions(want, admin, rot); n != 1 {
		t.Fatalf("pending %d, want 1 (b is not bound yet)", n)
	}
	a := *want["a"]
	a.Served = true
	if a.secret() != 400*time.Millisecond || a.bound() != 900*time.Millisecond || a.pullable() != 900*time.Millisecond {
		t.Fatalf("a: secret %s, bound %s, pullable %s; want 400ms, 900ms, 900ms", a.secret(), a.bound(), a.pullable())
	}
}

func TestPercentileByNearestRank(t *testing.T) {
	var xs []time.Duration
	for i := 1; i <= 50; i++ {
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 25 * time.Millisecond, 0.9: 45 * time.Millisecond, 0.99: 50 * time.Millisecond, 1: 50 * time.Millisecond} {
		if got := percentile(xs, p); got != want {
			t.Errorf("p%.0f of 1..50 ms: %s, want %s", 100*p, got, want)
		}
	}
	xs = append(xs, 50*time.Millisecond)
	for i := 52; i <= 200; i++ {
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(xs, 0.99); got != 198*time.Millisecond {
		t.Errorf("p99 of 200 values: %s, want the 198th (198ms)", got)
	}
	if fromTop(50) != "the largest" || fromTop(200) != "the 3rd largest" {
		t.Errorf("fromTop: %q, %q", fromTop(50), fromTop(200))
	}
}

func TestServiceVerdictsComeFromTheNumbers(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var rs []reaction
	for i := 0; i < 50; i++ {
		rs = append(rs, reaction{Namespace: nsName(i), Created: at, SecretAt: at.Add(300 * time.Millisecond), BoundAt: at.Add(time.Duration(500+20*i) * time.Millisecond), Served: true})
	}
	rec := serviceRecord{N: 2000, New: 50, ServiceNamespacesAtStop: 10000, Reactions: rs, RotateAtScale: true,
		Phases:  []servicePhase{{Name: "idle", Start: at, End: at.Add(10 * time.Minute)}},
		Idle:    idleStats{Watches: 6, LeaseUpdates: 280},
		Service: serviceExit{MaxRSSKiB: 60 * 1024, HWMKiB: 61 * 1024},
		Fresh:   &serviceExit{MaxRSSKiB: 120 * 1024, HWMKiB: 119 * 1024},
	}
	v := serviceVerdicts(rec)
	if len(v) != 5 {
		t.Fatalf("%d verdicts, want 5", len(v))
	}
	// p99 of 50 is the largest: 500 + 20*49 = 1480 ms.
	if !v[0].OK || !strings.Contains(v[0].Measured, "p99 1480 ms") {
		t.Errorf("reaction: %+v", v[0])
	}
	if !v[1].OK || !v[2].OK {
		t.Errorf("idle: %+v %+v", v[1], v[2])
	}
	if !v[3].OK || !strings.Contains(v[3].Measured, "61.0 MiB") {
		t.Errorf("grown service RSS: %+v", v[3])
	}
	if v[4].OK || !strings.Contains(v[4].Measured, "120.0 MiB") {
		t.Errorf("fresh service RSS: %+v, want missed at 120 MiB", v[4])
	}

	rec.Reactions[7].Served = false
	rec.Idle.Lists, rec.Idle.ListsByResource = 1, map[string]int{"secrets": 1}
	rec.Idle.Other = []idleRequest{{Verb: "list", Resource: "secrets"}}
	v = serviceVerdicts(rec)
	if v[0].OK || !strings.Contains(v[0].Measured, "49 of 50 served") {
		t.Errorf("a namespace never served must miss the target: %+v", v[0])
	}
	if v[1].OK || v[2].OK {
		t.Errorf("a list in the idle window must miss both idle targets: %+v %+v", v[1], v[2])
	}
	md := renderService(rec)
	for _, want := range []string{"| **missed** |", "| met |", "bench-0007 | 300 ms", "**not served**", "secrets 1"} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS-service.md lacks %q", want)
		}
	}

	none := serviceVerdicts(serviceRecord{N: 10, New: 2})
	for _, x := range none {
		if x.Done || serviceVerdictText(x) != "not measured" {
			t.Errorf("no measurement, yet %+v", x)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	st, ok := parseProcStat("4242 (rotator (x) y) S 4241 4242 4242 0 -1 4194560 1234 0 0 0 150 37 0 0 20 0 12 0 4000 1000000 5000")
	if !ok || st.PID != 4242 || st.PPID != 4241 || st.Comm != "rotator (x) y" || st.Ticks != 187 || st.Started != 4000 {
		t.Fatalf("got %+v %v", st, ok)
	}
	if d := ticksToDuration(st.Ticks); d != 1870*time.Millisecond {
		t.Fatalf("%s", d)
	}
}

func TestParseScenario(t *testing.T) {
	for in, want := range map[string]string{"": "compare", "compare": "compare", "service": "service"} {
		if got, err := parseScenario(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	if _, err := parseScenario("services"); err == nil {
		t.Error("a typo was accepted")
	}
}

func TestLoadBetweenCountsAReusedPIDAsNew(t *testing.T) {
	a := machineSnapshot{total: 1000, idle: 600, procs: map[int]procStat{
		1: {PID: 1, Comm: "kube-apiserver", Ticks: 500, Started: 10},
		2: {PID: 2, Comm: "go", Ticks: 900, Started: 20},
		3: {PID: 3, Comm: "kworker/u8:2-events_unbound", Ticks: 100, Started: 5},
	}}
	b := machineSnapshot{total: 1400, idle: 700, procs: map[int]procStat{
		1: {PID: 1, Comm: "kube-apiserver", Ticks: 700, Started: 10},
		2: {PID: 2, Comm: "compile", Ticks: 50, Started: 90}, // PID 2 reused
		3: {PID: 3, Comm: "kworker/u8:2-writeback", Ticks: 130, Started: 5},
	}}
	l := loadBetween(a, b)
	if l.Busy != 0.75 {
		t.Errorf("busy %.2f, want 0.75", l.Busy)
	}
	got := map[string]time.Duration{}
	for _, p := range l.Top {
		got[p.Comm] = p.CPU
	}
	want := map[string]time.Duration{"kube-apiserver": 2 * time.Second, "compile": 500 * time.Millisecond, "kworker (kernel)": 300 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
}

func TestBinariesAreAbsoluteAndSkipEmptyEntries(t *testing.T) {
	got, err := binaries(" /tmp/a, ,rel/b,")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "/tmp/a" || !filepath.IsAbs(got[1]) || !strings.HasSuffix(got[1], "/rel/b") {
		t.Fatalf("binaries: %q, want /tmp/a and an absolute .../rel/b", got)
	}
	if got, _ := binaries(""); got != nil {
		t.Fatalf("binaries of nothing: %q", got)
	}
}
