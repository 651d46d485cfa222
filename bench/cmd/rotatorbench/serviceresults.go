package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// The service scenario's targets (issue 17).
const (
	reactionTarget = 2 * time.Second
	rssTargetMiB   = 100
)

// serviceRecord is everything RESULTS-service.md is rendered from, saved beside it as JSON.
type serviceRecord struct {
	Scenario          string
	Args              []string
	N, New, RSSN      int
	IdleFor, Settle   time.Duration
	Reconcile, Resync time.Duration
	RotateAtScale     bool
	FixtureQPS        float64
	FixtureWorkers    int
	Machine           machine
	Started           time.Time
	Took              time.Duration
	Defaults          config.Kubernetes
	Registry          string `json:"-"`
	Phases            []servicePhase
	Reactions         []reaction
	BurstCreated      time.Duration
	Idle              idleStats
	IdleLog           map[string]int
	Service           serviceExit
	Fresh             *serviceExit `json:",omitempty"`
	// FreshOthers are the fresh runs of -service-fresh-rotators, after Fresh.
	FreshOthers             []freshOther `json:",omitempty"`
	Unfinished              string       `json:",omitempty"`
	ServiceNamespacesAtStop int
}

// freshOther is the fresh run at scale of another rotator binary (-service-fresh-rotators).
type freshOther struct {
	Rotator string
	Exit    serviceExit
}

func (b *bench) serviceRecord() serviceRecord {
	rec := *b.svc
	so := b.opts.service
	rec.Scenario, rec.Args = "service", os.Args[1:]
	rec.N, rec.New, rec.RSSN = so.n, so.burst, so.rssN
	rec.IdleFor, rec.Settle, rec.Reconcile = so.idle, so.settle, so.reconcile
	rec.RotateAtScale, rec.FixtureQPS, rec.FixtureWorkers = so.rotateAtScale, so.qps, so.workers
	rec.Machine, rec.Started, rec.Took, rec.Defaults = b.machine, b.started, time.Since(b.started), b.defaults
	rec.ServiceNamespacesAtStop = max(so.rssN, so.n+so.burst)
	return rec
}

func saveService(rec serviceRecord, mdPath string) error {
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath(mdPath), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(mdPath, []byte(renderService(rec)), 0o644)
}

func rerenderService(mdPath string) error {
	js, err := os.ReadFile(jsonPath(mdPath))
	if err != nil {
		return fmt.Errorf("no saved record to render from: %w", err)
	}
	var rec serviceRecord
	if err := json.Unmarshal(js, &rec); err != nil {
		return fmt.Errorf("%s: %w", jsonPath(mdPath), err)
	}
	return os.WriteFile(mdPath, []byte(renderService(rec)), 0o644)
}

func (rec serviceRecord) phase(name string) (servicePhase, bool) {
	for _, p := range rec.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return servicePhase{}, false
}

// peakKiB is a stopped service's peak RSS: the larger of its last VmHWM and wait4's Maxrss.
func (e serviceExit) peakKiB() int64 { return max(e.MaxRSSKiB, e.HWMKiB) }

// serviceVerdict is one row of the targets table, computed from the record.
type serviceVerdict struct {
	Target, Measured string
	// Measured false: the record has no measurement for it (a phase skipped or not reached).
	Done, OK bool
}

func serviceVerdicts(rec serviceRecord) []serviceVerdict {
	var out []serviceVerdict
	rs := reactionStats(rec.Reactions)
	v := serviceVerdict{Target: fmt.Sprintf("p99 ≤ %s from a namespace's creation to a pullable secret, %d target namespaces present, %d created at once", secs(reactionTarget), rec.N, rec.New)}
	if rs.N > 0 {
		v.Done = true
		v.OK = len(rs.Unserved) == 0 && rs.P99 <= reactionTarget
		v.Measured = fmt.Sprintf("p99 %s (p50 %s, max %s; %d of %d served)", ms(rs.P99), ms(rs.P50), ms(rs.Max), rs.Served, rs.N)
		if len(rs.Unserved) > 0 {
			v.Measured += fmt.Sprintf("; not pullable: %s", strings.Join(firstFew(rs.Unserved), ", "))
		}
	}
	out = append(out, v)

	idle, hasIdle := rec.phase("idle")
	v = serviceVerdict{Target: "idle, after the caches synced: no list at all"}
	if hasIdle {
		v.Done, v.OK = true, rec.Idle.Lists == 0
		v.Measured = fmt.Sprintf("%d lists in %s (%s)", rec.Idle.Lists, idle.wall().Round(time.Second), countsOrNone(rec.Idle.ListsByResource))
	}
	out = append(out, v)
	v = serviceVerdict{Target: "idle: only watches and renewals of the leader lease"}
	if hasIdle {
		v.Done, v.OK = true, len(rec.Idle.Other) == 0
		v.Measured = fmt.Sprintf("%d watches, %d renewals (get %d, update %d), %d other requests", rec.Idle.Watches, rec.Idle.LeaseGets+rec.Idle.LeaseUpdates,
			rec.Idle.LeaseGets, rec.Idle.LeaseUpdates, len(rec.Idle.Other))
	}
	out = append(out, v)

	grown := rec.ServiceNamespacesAtStop
	v = serviceVerdict{Target: fmt.Sprintf("peak RSS under %d MiB at %d namespaces (2 workloads each): the service running since %d, grown there", rssTargetMiB, grown, rec.N)}
	if rec.Service.MaxRSSKiB > 0 || rec.Service.HWMKiB > 0 {
		p := rec.Service.peakKiB()
		v.Done, v.OK = true, mib(p) < rssTargetMiB
		v.Measured = fmt.Sprintf("%.1f MiB (VmHWM %.1f MiB, wait4 max RSS %.1f MiB)", mib(p), mib(rec.Service.HWMKiB), mib(rec.Service.MaxRSSKiB))
	}
	out = append(out, v)
	if rec.RotateAtScale {
		v = serviceVerdict{Target: fmt.Sprintf("peak RSS under %d MiB at %d namespaces: a fresh service that issues and writes a credential everywhere", rssTargetMiB, grown)}
		if rec.Fresh != nil {
			p := rec.Fresh.peakKiB()
			v.Done, v.OK = true, mib(p) < rssTargetMiB
			v.Measured = fmt.Sprintf("%.1f MiB (VmHWM %.1f MiB, wait4 max RSS %.1f MiB)", mib(p), mib(rec.Fresh.HWMKiB), mib(rec.Fresh.MaxRSSKiB))
		}
		out = append(out, v)
	}
	return out
}

func ms(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return secs(d)
}

func countsOrNone(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	return formatCounts(m)
}

func serviceVerdictText(v serviceVerdict) string {
	if !v.Done {
		return "not measured"
	}
	return verdict(v.OK)
}

// renderService renders RESULTS-service.md from a record.
func renderService(rec serviceRecord) string {
	m := rec.Machine
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

	p("# Benchmark results: the service (`rotator run`)")
	p("")
	p("Written by `make bench BENCH_FLAGS='-scenario service'` (`go run ./bench/cmd/rotatorbench -scenario service`); every number below comes from that run and every verdict is computed from them. Re-run it to refresh this file; `-scenario service -render` renders it again from the JSON record beside it.")
	p("")
	p("- **Command:** `%s`", strings.Join(append([]string{"rotatorbench"}, rec.Args...), " "))
	p("- **Date:** %s (took %s)", rec.Started.UTC().Format("2006-01-02 15:04 UTC"), rec.Took.Round(time.Minute))
	p("- **Machine:** %d CPUs (%s), %s memory, Linux %s, load average %s at the start. The machine is shared (another engineer's test suites ran during the benchmark): the load of every phase is in the last table.", m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.LoadAvg)
	p("- **Software:** %s; the sandbox's kube-apiserver (audit log at level Metadata), kube-controller-manager and etcd (`make tools`).", m.GoVersion)
	p("- **Fixture:** %d target namespaces (label `%s=true`), each with ServiceAccount `%s` and Deployments `%s` and `%s` (replicas 0); then %d more created at once; then grown to %d. The fixture's client: qps %.0f, %d workers.", rec.N, benchLabel, serviceAccount, depDirect, depViaSA, rec.New, rec.ServiceNamespacesAtStop, rec.FixtureQPS, rec.FixtureWorkers)
	p("- **Service:** `rotator run --no-jitter --reconcile %s` (`--resync` %s, `--lease-duration` 15s: the defaults), as the rig's `rotator` user with the shipped RBAC; one Harbor credential targeting the label, `restart.policy: IfNeeded`; client qps %.0f, burst %d, %d workers (the defaults).", rec.Reconcile, rec.Resync, rec.Defaults.QPS, rec.Defaults.Burst, rec.Defaults.Concurrency)
	if rec.Unfinished != "" {
		p("- **The run did not finish:** %s. The rows below are what it measured before that.", rec.Unfinished)
	}
	p("")

	p("## Targets")
	p("")
	p("| target | measured | |")
	p("|---|---|---|")
	for _, v := range serviceVerdicts(rec) {
		measured := v.Measured
		if !v.Done {
			measured = "–"
		}
		p("| %s | %s | %s |", v.Target, measured, serviceVerdictText(v))
	}
	p("")

	rs := reactionStats(rec.Reactions)
	if rs.N > 0 {
		burst, _ := rec.phase("burst")
		p("## Reaction: %d namespaces created at once, %d present", rs.N, rec.N)
		p("")
		p("The benchmark created the %d namespaces (each with the selector's label, then its ServiceAccount and two Deployments) with one worker per namespace: the namespace creates reached the API server within %s of each other, all objects were created in %s. Load average %s at the start of the burst, %s at its end; the machine's CPUs were %.0f%% busy.",
			rs.N, ms(rs.CreateSpread), ms(rec.BurstCreated), burst.Load.LoadStart, burst.Load.LoadEnd, 100*burst.Load.Busy)
		p("")
		p("| from the namespace's create (received by the API server) to | p50 | p90 | p99 | max |")
		p("|---|---:|---:|---:|---:|")
		p("| **a pullable secret** (the later of the two below) | %s | %s | %s | %s |", ms(rs.P50), ms(rs.P90), ms(rs.P99), ms(rs.Max))
		sec, bound := durations(rec.Reactions, reaction.secret), durations(rec.Reactions, reaction.bound)
		p("| the rotator's write of the Secret answered | %s | %s | %s | %s |", ms(percentile(sec, .5)), ms(percentile(sec, .9)), ms(percentile(sec, .99)), ms(percentile(sec, 1)))
		p("| the rotator's bind of ServiceAccount `%s` answered | %s | %s | %s | %s |", serviceAccount, ms(percentile(bound, .5)), ms(percentile(bound, .9)), ms(percentile(bound, .99)), ms(percentile(bound, 1)))
		p("")
		p("The last namespace was pullable %s after the first create. Percentiles are by nearest rank (p99 of %d values is %s). A namespace counts as served when the audit log shows both writes and the objects, read back afterwards, hold a dockerconfigjson for the registry and the binding.", ms(rs.LastPullableAt), rs.Served, fromTop(rs.Served))
		if len(rs.Unserved) > 0 {
			p("")
			p("**Not pullable** within the wait: %s.", strings.Join(rs.Unserved, ", "))
		}
		p("")
		p("<details><summary>Every namespace</summary>")
		p("")
		p("| namespace | Secret written | ServiceAccount bound | pullable |")
		p("|---|---:|---:|---:|")
		for _, r := range rec.Reactions {
			p("| %s | %s | %s | %s |", r.Namespace, ms(r.secret()), ms(r.bound()), pullableText(r))
		}
		p("")
		p("</details>")
		p("")
	}

	if idle, ok := rec.phase("idle"); ok {
		s := rec.Idle
		mins := idle.wall().Minutes()
		p("## Idle: %s with nothing changing, %d target namespaces", idle.wall().Round(time.Second), idle.Namespaces)
		p("")
		after := "after the burst"
		if t := lastWrite(rec.Reactions); !t.IsZero() {
			after = fmt.Sprintf("%s after the burst's last repair", idle.Start.Sub(t).Round(time.Second))
		}
		p("The window started %s (the controller checks a repaired namespace's pods again 3, 13, 43 and 133 s after it; those lists belong to the repair) and lasted %s. Requests of the `rotator` identity received in it, from the audit log (a watch counted once, when it opened, whether or not it ended in the window):",
			after, idle.wall().Round(time.Second))
		p("")
		p("| | count | per minute |")
		p("|---|---:|---:|")
		p("| lists | %d | %.1f |", s.Lists, float64(s.Lists)/mins)
		p("| watches (%s) | %d | %.1f |", countsOrNone(s.WatchesByResource), s.Watches, float64(s.Watches)/mins)
		p("| leader lease `%s`: get | %d | %.1f |", leaderLease, s.LeaseGets, float64(s.LeaseGets)/mins)
		p("| leader lease `%s`: update (renewals) | %d | %.1f |", leaderLease, s.LeaseUpdates, float64(s.LeaseUpdates)/mins)
		p("| anything else | %d | %.1f |", len(s.Other), float64(len(s.Other))/mins)
		p("| **all** | %d | %.1f |", s.Total, float64(s.Total)/mins)
		p("")
		p("By verb and resource: %s.", countsOrNone(s.ByVerbResource))
		p("")
		if len(s.Other) > 0 {
			p("The requests other than watches and lease renewals:")
			p("")
			p("| received | verb | resource | namespace/name | URI | code |")
			p("|---|---|---|---|---|---:|")
			for i, r := range s.Other {
				if i == 30 {
					p("| … %d more | | | | | |", len(s.Other)-30)
					break
				}
				p("| %s | %s | %s | %s/%s | `%s` | %d |", r.At.UTC().Format("15:04:05.000"), r.Verb, r.Resource, r.Namespace, r.Name, r.URI, r.Code)
			}
			p("")
		}
		if len(rec.IdleLog) > 0 {
			p("The service's log in the window, by level and message: %s.", formatCounts(rec.IdleLog))
		} else {
			p("The service logged nothing in the window.")
		}
		p("")
	}

	p("## Memory and requests, phase by phase")
	p("")
	p("| phase | namespaces | wall | rotator requests | by verb | rotator CPU | VmHWM at the end | largest VmRSS sample in the phase |")
	p("|---|---:|---:|---:|---|---:|---:|---:|")
	for _, ph := range rec.Phases {
		hwm, rss := "–", "–"
		if ph.HWMKiB > 0 {
			hwm, rss = fmt.Sprintf("%.1f MiB", mib(ph.HWMKiB)), fmt.Sprintf("%.1f MiB", mib(ph.MaxRSSKiB))
		}
		cpu := "–"
		if ph.RotatorCPU > 0 {
			cpu = secs(ph.RotatorCPU)
		}
		p("| %s | %d | %s | %d | %s | %s | %s | %s |", ph.Name, ph.Namespaces, secs(ph.wall()), ph.Requests.Total, ph.Requests.verbs(), cpu, hwm, rss)
	}
	p("")
	p("*VmHWM* is the rotator process's peak resident set since its start (`/proc/PID/status`), so it only grows from phase to phase; *largest VmRSS sample* is the largest of the readings every 0.5 s within the phase. The process runs under `bench/cmd/rsswrap`, whose wait4 report gives the same peak at exit:")
	p("")
	for _, e := range []struct {
		name string
		x    *serviceExit
	}{{fmt.Sprintf("service started at %d, grown to %d", rec.N, rec.ServiceNamespacesAtStop), &rec.Service}, {fmt.Sprintf("fresh service at %d, state deleted", rec.ServiceNamespacesAtStop), rec.Fresh}} {
		if e.x == nil || (e.x.MaxRSSKiB == 0 && e.x.HWMKiB == 0) {
			continue
		}
		p("- %s: wait4 max RSS %.1f MiB (rsswrap's own peak, a floor under it: %.1f MiB), last VmHWM %.1f MiB, CPU %s over %s, exit %d after SIGTERM.", e.name, mib(e.x.MaxRSSKiB), mib(e.x.RSSFloorKiB), mib(e.x.HWMKiB), secs(e.x.CPU), secs(e.x.Wall), e.x.ExitCode)
	}
	p("")
	p("What each phase is:")
	p("")
	for _, ph := range rec.Phases {
		p("- **%s**: %s. Requests: %s.", ph.Name, ph.Note, ph.Requests.detail())
	}
	p("")

	p("## Load on the machine")
	p("")
	p("| phase | wall | load average at the start | at the end | CPUs busy | most CPU in the phase |")
	p("|---|---:|---|---|---:|---|")
	for _, ph := range rec.Phases {
		p("| %s | %s | %s | %s | %.0f%% | %s |", ph.Name, secs(ph.wall()), ph.Load.LoadStart, ph.Load.LoadEnd, 100*ph.Load.Busy, topCPU(ph.Load.Top))
	}
	p("")
	p("*CPUs busy* is the share of all %d CPUs' time not idle over the phase (`/proc/stat`); *most CPU* names the processes that used the most CPU time in it (`/proc/PID/stat`; a process that started and ended between two snapshots is not seen).", m.CPUs)
	return w.String()
}

// lastWrite is the latest of the burst's Secret and ServiceAccount writes.
func lastWrite(rs []reaction) time.Time {
	var t time.Time
	for _, r := range rs {
		for _, at := range []time.Time{r.SecretAt, r.BoundAt} {
			if at.After(t) {
				t = at
			}
		}
	}
	return t
}

func durations(rs []reaction, f func(reaction) time.Duration) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		if r.Served {
			out = append(out, f(r))
		}
	}
	return out
}

func pullableText(r reaction) string {
	if !r.Served {
		return "**not served**"
	}
	return ms(r.pullable())
}

func topCPU(ps []procCPU) string {
	if len(ps) == 0 {
		return "–"
	}
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s %.0f s", p.Comm, p.CPU.Seconds()))
	}
	return strings.Join(parts, ", ")
}

// fromTop names the value the nearest-rank p99 of n values picks: "the largest", "the 2nd
// largest"...
func fromTop(n int) string {
	k := n - int(math.Ceil(0.99*float64(n)-1e-9)) + 1
	switch {
	case k <= 1:
		return "the largest"
	case k == 2:
		return "the 2nd largest"
	case k == 3:
		return "the 3rd largest"
	}
	return fmt.Sprintf("the %dth largest", k)
}
