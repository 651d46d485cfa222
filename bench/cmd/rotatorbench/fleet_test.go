package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fleetSample is a record of three clusters, member-1 cut off in the down and revoke phases,
// built to meet every target; the tests break one number at a time.
func fleetSample() fleetRecord {
	at := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	names := []string{fleetLocal, "member-1", "member-2"}
	ids := map[string][]string{fleetLocal: {"l1", "l2", "l3"}, "member-1": {"a1", "a2"}, "member-2": {"b1", "b2", "b3"}}
	robots := func(cluster string, n int, exists ...bool) []fleetRobot {
		var out []fleetRobot
		for i := 0; i < n; i++ {
			out = append(out, fleetRobot{ID: ids[cluster][i], Name: "robot$" + ids[cluster][i], Exists: exists[i]})
		}
		return out
	}
	run := func(cluster, result, issued, prev string, end time.Duration, reqs int) fleetClusterRun {
		expected := prev
		if issued != "" {
			expected = issued
		}
		return fleetClusterRun{Cluster: cluster, Result: result, Issued: issued, PreviousID: prev, ExpectedID: expected,
			EndState: end, Requests: requestStats{Total: reqs}, Namespaces: 10, Holds: map[string]int{expected: 10}, Pullable: 10}
	}
	phase := func(name string, exit int, down string, robotsBefore, robotsAfter int, cs ...fleetClusterRun) fleetPhase {
		p := fleetPhase{Name: name, Note: name, Args: []string{"rotate", "now", "--config", "c"}, ExitCode: exit, Down: down, Mode: downRefuse,
			Start: at, End: at.Add(10 * time.Second), MaxRSSKiB: 40 << 10, RobotsBefore: robotsBefore, RobotsAfter: robotsAfter}
		for _, c := range cs {
			c.Down = c.Cluster == down
			p.Clusters = append(p.Clusters, c)
		}
		return p
	}
	install := phase("install", 0, "", 0, 3,
		run(fleetLocal, "succeeded", "l1", "", 5*time.Second, 300), run("member-1", "succeeded", "a1", "", 6*time.Second, 250), run("member-2", "succeeded", "b1", "", 6*time.Second, 250))
	rotate := phase("rotate", 0, "", 3, 6,
		run(fleetLocal, "succeeded", "l2", "l1", 4*time.Second, 200), run("member-1", "succeeded", "a2", "a1", 4*time.Second, 150), run("member-2", "succeeded", "b2", "b1", 8*time.Second, 150))
	downCut := run("member-1", "failed", "", "a2", 0, 0)
	downCut.Errors = []string{"cluster member-1: list namespaces: dial tcp 127.0.0.1:4444: connect: connection refused"}
	down := phase("down", 1, "member-1", 6, 6,
		run(fleetLocal, "succeeded", "l3", "l2", 4500*time.Millisecond, 200), downCut, run("member-2", "succeeded", "b3", "b2", 9*time.Second, 150))
	// down: local and member-2 revoke their install credentials (2), issue one each (2).
	down.Clusters[0].Revoked, down.Clusters[2].Revoked = []string{"robot$l1"}, []string{"robot$b1"}
	revCut := run("member-1", "failed", "", "a2", 0, 0)
	revCut.Errors = downCut.Errors
	revoke := phase("revoke", 1, "member-1", 6, 4,
		run(fleetLocal, "nothing-due", "", "l3", 0, 5), revCut, run("member-2", "nothing-due", "", "b3", 0, 5))
	revoke.Clusters[0].Revoked, revoke.Clusters[2].Revoked = []string{"robot$l2"}, []string{"robot$b2"}
	revoke.Clusters[0].Robots = robots(fleetLocal, 3, false, false, true)
	revoke.Clusters[1].Robots = robots("member-1", 2, true, true)
	revoke.Clusters[2].Robots = robots("member-2", 3, false, false, true)
	rec := fleetRecord{Scenario: "fleet", Clusters: 3, N: 10, DownMode: downRefuse, RevokeAfter: 2 * time.Second, Started: at,
		Phases: []fleetPhase{install, rotate, down, revoke}}
	for _, n := range names {
		rec.Fleet = append(rec.Fleet, fleetCluster{Name: n, Gated: n == "member-1"})
	}
	return rec
}

func verdictsByPrefix(t *testing.T, rec fleetRecord) map[string]fleetVerdict {
	t.Helper()
	out := map[string]fleetVerdict{}
	for _, v := range fleetVerdicts(rec) {
		switch {
		case strings.HasPrefix(v.Target, "one `rotate now`"):
			out["install"] = v
		case strings.HasPrefix(v.Target, "a member down: exit 1"):
			out["exit"] = v
		case strings.HasPrefix(v.Target, "a member down: every other"):
			out["others"] = v
		case strings.HasPrefix(v.Target, "the down member unchanged"):
			out["unchanged"] = v
		case strings.HasPrefix(v.Target, "a member down, the grace"):
			out["revoke"] = v
		case strings.HasPrefix(v.Target, "a member down: no credential"):
			out["orphans"] = v
		case strings.HasPrefix(v.Target, "peak RSS"):
			out["rss"] = v
		}
	}
	return out
}

func TestFleetVerdictsComeFromTheNumbers(t *testing.T) {
	rec := fleetSample()
	vs := verdictsByPrefix(t, rec)
	for _, k := range []string{"install", "exit", "others", "unchanged", "revoke", "orphans"} {
		if v, ok := vs[k]; !ok || !v.Done || !v.OK {
			t.Errorf("%s: %+v, want measured and met", k, v)
		}
	}
	if v := vs["rss"]; !v.Done || !v.Reference || !strings.Contains(v.Measured, "40.0 MiB") || fleetVerdictText(v) != "(no target)" {
		t.Errorf("rss: %+v", v)
	}
	if !strings.Contains(vs["others"].Measured, "member-2 9.0 s (all up 8.0 s, +1.0 s)") {
		t.Errorf("others: %s", vs["others"].Measured)
	}

	// Each break, alone, misses its target.
	breaks := map[string]func(*fleetRecord){
		// member-2 3 s later than all up: over max(25% of 8 s, 2 s).
		"others": func(r *fleetRecord) { r.Phases[2].Clusters[2].EndState = 11 * time.Second },
		// a cluster that was up did not reach its end state.
		"others ": func(r *fleetRecord) { r.Phases[2].Clusters[0].Check = "1 problems: bench-0001: not pullable" },
		"exit":    func(r *fleetRecord) { r.Phases[2].ExitCode = 0 },
		"exit ":   func(r *fleetRecord) { r.Phases[2].Clusters[1].Result = "succeeded" },
		// a request reached the down member, or a namespace of it changed.
		"unchanged":  func(r *fleetRecord) { r.Phases[3].Clusters[1].Requests.Total = 1 },
		"unchanged ": func(r *fleetRecord) { r.Phases[2].Clusters[1].Holds = map[string]int{"a2": 9, "(none)": 1} },
		// the down member's credential in use revoked; another cluster's old one left.
		"revoke":  func(r *fleetRecord) { r.Phases[3].Clusters[1].Robots[1].Exists = false },
		"revoke ": func(r *fleetRecord) { r.Phases[3].Clusters[2].Robots[1].Exists = true },
		// a robot left at Harbor by the down member's run, or one issued for it.
		"orphans":  func(r *fleetRecord) { r.Phases[2].RobotsAfter = 7 },
		"orphans ": func(r *fleetRecord) { r.Phases[2].Clusters[1].Issued = "a3" },
	}
	for name, brk := range breaks {
		r := fleetSample()
		brk(&r)
		key := strings.TrimSpace(name)
		v := verdictsByPrefix(t, r)[key]
		if !v.Done || v.OK {
			t.Errorf("break %q: %+v, want measured and missed", name, v)
		}
		for k, other := range verdictsByPrefix(t, r) {
			if k != key && k != "rss" && !other.OK && key != "orphans" {
				t.Errorf("break %q also failed %s: %s", name, k, other.Measured)
			}
		}
	}

	// A run that stopped before the down phase: its rows are not measured.
	r := fleetSample()
	r.Phases = r.Phases[:2]
	r.Unfinished = "phase down: no JSON report"
	vs = verdictsByPrefix(t, r)
	if !vs["install"].OK || vs["exit"].Done || vs["others"].Done || vs["unchanged"].Done || vs["revoke"].Done {
		t.Errorf("unfinished run: %+v", vs)
	}
	md := renderFleet(r)
	for _, want := range []string{"| not measured |", "The run did not finish", "### rotate"} {
		if !strings.Contains(md, want) {
			t.Errorf("rendered file lacks %q", want)
		}
	}
}

func TestRenderFleetShowsEveryClusterAndVerdict(t *testing.T) {
	md := renderFleet(fleetSample())
	for _, want := range []string{
		"## Targets",
		"| member-1 (**down**) | failed |",
		"connection refused",
		"| down | `rotate now --config c` | member-1 (refuse) | 1 |",
		"| met |",
		"robot",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("rendered file lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "**missed**") {
		t.Errorf("the sample meets every target, the file says missed:\n%s", md)
	}
}

func TestSlackIsTheLargerOfFractionAndMinimum(t *testing.T) {
	if got := slack(4 * time.Second); got != fleetSlackMin {
		t.Errorf("slack(4s) = %s, want %s", got, fleetSlackMin)
	}
	if got := slack(20 * time.Second); got != 5*time.Second {
		t.Errorf("slack(20s) = %s, want 5s", got)
	}
}

func TestMissedRotationIsComputed(t *testing.T) {
	rec := fleetSample()
	if missedRotation(rec) != "" {
		t.Fatal("no back phase: no note")
	}
	back := rec.Phases[3]
	back.Name, back.Down, back.ExitCode = "back", "", 0
	back.Clusters = append([]fleetClusterRun(nil), back.Clusters...)
	back.Clusters[1].Down, back.Clusters[1].Result = false, "succeeded"
	back.Clusters[1].Robots = []fleetRobot{{ID: "a1", Phase: "install"}, {ID: "a2", Phase: "rotate", Exists: true}}
	rec.Phases = append(rec.Phases, back)
	note := missedRotation(rec)
	if !strings.Contains(note, "member-1 was **not** rotated") || !strings.Contains(note, "issued in phase rotate") || !strings.Contains(note, "the 2 other clusters") {
		t.Errorf("note: %s", note)
	}
	if v := verdictsByPrefix(t, rec); len(fleetVerdicts(rec)) != 9 || !v["install"].OK {
		t.Errorf("verdicts with a back phase: %+v", fleetVerdicts(rec))
	}
	rec.Phases[4].Clusters[1].Issued = "a3"
	if note := missedRotation(rec); !strings.Contains(note, "was rotated (credential a3)") {
		t.Errorf("note: %s", note)
	}
}

// With rounds, the verdict compares medians: one slow round of three does not miss it, two do;
// and every round with the member down must exit 1.
func TestFleetVerdictsUseMediansOverRounds(t *testing.T) {
	rounds := func(slow ...bool) fleetRecord {
		rec := fleetSample()
		rotate, down := rec.Phases[1], rec.Phases[2]
		phases := []fleetPhase{rec.Phases[0]}
		for i, s := range slow {
			r, d := rotate, down
			r.Kind, d.Kind, r.Round, d.Round = "rotate", "down", i+1, i+1
			r.Name, d.Name = fmt.Sprintf("rotate-%d", i+1), fmt.Sprintf("down-%d", i+1)
			d.Clusters = append([]fleetClusterRun(nil), down.Clusters...)
			if s {
				d.Clusters[2].EndState = 20 * time.Second
			}
			phases = append(phases, r, d)
		}
		rec.Phases = append(phases, rec.Phases[3:]...)
		rec.Rounds = len(slow)
		return rec
	}
	if v := verdictsByPrefix(t, rounds(false, true, false))["others"]; !v.OK || !strings.Contains(v.Measured, "member-2 9.0 s (all up 8.0 s, +1.0 s)") || !strings.Contains(v.Target, "medians of 3 rounds") {
		t.Errorf("one slow round of three: %+v", v)
	}
	if v := verdictsByPrefix(t, rounds(true, true, false))["others"]; v.OK || !strings.Contains(v.Measured, "member-2 20.0 s") {
		t.Errorf("two slow rounds of three: %+v", v)
	}
	rec := rounds(false, false, false)
	rec.Phases[4].ExitCode = 0
	if v := verdictsByPrefix(t, rec)["exit"]; v.OK || !strings.Contains(v.Measured, "exit 0 (1 runs), 1 (2 runs) in 3 runs") {
		t.Errorf("a round exiting 0: %+v", v)
	}
	rec = rounds(false, false)
	rec.Phases[4].Clusters[1].Requests.Total = 3
	if v := verdictsByPrefix(t, rec)["unchanged"]; v.OK || !strings.Contains(v.Measured, "3 requests") {
		t.Errorf("a request at the down member in round 2: %+v", v)
	}
}

// Cut off mid-run (freeze), the member holds the previous credential in some namespaces and
// the new one in the others: both must stay pullable and alive at Harbor.
func TestFleetFreezeVerdicts(t *testing.T) {
	freeze := func() fleetRecord {
		rec := fleetSample()
		rec.DownMode = downFreeze
		for _, i := range []int{2, 3} {
			c := &rec.Phases[i].Clusters[1]
			c.PendingID, c.Holds = "a3", map[string]int{"a2": 7, "a3": 3}
		}
		rec.Phases[2].Clusters[1].Issued = "a3"
		rec.Phases[2].Clusters[1].Requests.Total = 40 // before the cut
		rec.Phases[2].CutAt, rec.Phases[2].Mode, rec.Phases[3].Mode = 300*time.Millisecond, downFreeze, downFreeze
		rec.Phases[2].RobotsAfter = 7 // one more: issued for member-1 before the cut
		rec.Phases[3].RobotsBefore, rec.Phases[3].RobotsAfter = 7, 5
		rec.Phases[3].Clusters[1].Robots = append(rec.Phases[3].Clusters[1].Robots, fleetRobot{ID: "a3", Name: "robot$a3", Exists: true})
		return rec
	}
	vs := verdictsByPrefix(t, freeze())
	if v := vs["unchanged"]; v.Done || v.OK {
		t.Errorf("the unchanged row under freeze: %+v", v)
	}
	var mid, orphans, revoke fleetVerdict
	for _, v := range fleetVerdicts(freeze()) {
		switch {
		case strings.HasPrefix(v.Target, "the member cut off mid-run"):
			mid = v
		case strings.HasPrefix(v.Target, "a member cut off mid-run: no credential left"):
			orphans = v
		case strings.HasPrefix(v.Target, "a member down, the grace"):
			revoke = v
		}
	}
	if !mid.OK || !strings.Contains(mid.Measured, "down: 7 previous, 3 new (written before the cut), 10 pullable of 10") {
		t.Errorf("mid-run: %+v", mid)
	}
	if !orphans.OK || !revoke.OK {
		t.Errorf("orphans %+v, revoke %+v", orphans, revoke)
	}
	if md := renderFleet(freeze()); !strings.Contains(md, "member-1 (freeze), cut at 0.3 s") {
		t.Errorf("the phases table lacks the cut")
	}
	rec := freeze()
	rec.Phases[2].Clusters[1].Pullable = 9
	for _, v := range fleetVerdicts(rec) {
		if strings.HasPrefix(v.Target, "the member cut off mid-run") && v.OK {
			t.Errorf("a namespace not pullable: %+v", v)
		}
	}
	rec = freeze()
	rec.Phases[3].Clusters[1].Robots[2].Exists = false // the new one, held by 3 namespaces, revoked
	for _, v := range fleetVerdicts(rec) {
		if strings.HasPrefix(v.Target, "a member down, the grace") && v.OK {
			t.Errorf("a held credential revoked: %+v", v)
		}
	}
}

// A run killed before it reported, with nothing measured in it, meets nothing.
func TestFleetVerdictsOfARunWithoutClusters(t *testing.T) {
	rec := fleetSample()
	rec.Phases[2].Clusters, rec.Phases[2].ExitCode = nil, -1
	vs := verdictsByPrefix(t, rec)
	if vs["others"].OK || vs["exit"].OK {
		t.Errorf("others %+v, exit %+v", vs["others"], vs["exit"])
	}
}

func TestEventFailuresFromTheRotatorsLog(t *testing.T) {
	start := time.Date(2026, 12, 3, 6, 13, 53, 0, time.UTC)
	stderr := `[bench] write          1/20 secret bench-0009/harbor-pull failed (45.023s)
time=2026-12-03T06:14:48.548Z level=WARN msg="could not record event" namespace=bench-0009 object=harbor-pull reason=WriteFailed err="Post \"https://x\": context deadline exceeded"
time=2026-12-03T06:14:58.550Z level=WARN msg="could not record event" namespace=bench-0001 object=harbor-pull reason=WriteFailed err="x"
time=2026-12-03T06:15:08.552Z level=WARN msg="could not record event" namespace=bench-0002 object=harbor-pull reason=WriteFailed err="x"
error: some targets are not done; see above
`
	n, first, last := eventFailures([]byte(stderr), start)
	if n != 3 || first != 55548*time.Millisecond || last != 75552*time.Millisecond {
		t.Fatalf("got %d, %s, %s", n, first, last)
	}
	rec := fleetSample()
	rec.Phases[2].EventFailures, rec.Phases[2].EventFailFirst, rec.Phases[2].EventFailLast = n, first, last
	for _, v := range fleetVerdicts(rec) {
		if strings.HasPrefix(v.Target, "a member down: how long") && !strings.Contains(v.Measured, "3 Events could not be recorded, logged from 55.5 s to 75.6 s (one every 10.0 s)") {
			t.Errorf("duration row: %s", v.Measured)
		}
	}
}
