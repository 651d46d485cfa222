package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// summary is one method's measurements over the rounds.
type summary struct {
	Method               string
	Runs                 []measurement
	Wall, EndState, CPU  time.Duration // medians
	Requests, Writes     int           // medians
	MaxRSSKiB            int64         // largest
	Extrapolated         bool
	MeasuredOn, Covering int
}

func summarize(ms []measurement, method string) summary {
	s := summary{Method: method}
	var walls, ends, cpus []time.Duration
	var reqs, writes []int
	for _, m := range ms {
		if m.Method != method {
			continue
		}
		s.Runs = append(s.Runs, m)
		walls, ends, cpus = append(walls, m.Wall), append(ends, m.EndState), append(cpus, m.CPU)
		reqs, writes = append(reqs, m.Requests.Total), append(writes, m.Requests.Writes)
		s.MaxRSSKiB = max(s.MaxRSSKiB, m.MaxRSSKiB)
		s.Extrapolated = s.Extrapolated || m.Extrapolated
		s.MeasuredOn = m.Namespaces
	}
	s.Wall, s.EndState, s.CPU = median(walls), median(ends), median(cpus)
	s.Requests, s.Writes = median(reqs), median(writes)
	return s
}

func median[T int | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rssFloor is the largest peak of the measuring wrapper itself over all runs.
func rssFloor(rec record) int64 {
	var f int64
	for _, ms := range [][]measurement{rec.Runs, rec.Noop, rec.Scale, rec.Probe} {
		for _, m := range ms {
			f = max(f, m.RSSFloorKiB)
		}
	}
	return f
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func secs(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// render renders RESULTS.md from a record.
func render(rec record) string {
	m := rec.Machine
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

	p("# Benchmark results")
	p("")
	p("Written by `make bench` (`go run ./bench/cmd/rotatorbench`); every number below comes from that run. Re-run it to refresh this file.")
	p("")
	p("- **Command:** `%s`", strings.Join(append([]string{"rotatorbench"}, rec.Args...), " "))
	p("- **Date:** %s (took %s)", rec.Started.UTC().Format("2006-01-02 15:04 UTC"), rec.Took.Round(time.Minute))
	p("- **Machine:** %d CPUs (%s), %s memory, Linux %s, load average %s at the start; the machine is shared with other work, so expect noise.", m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.LoadAvg)
	p("- **Software:** %s, kubectl %s; the sandbox's kube-apiserver, kube-controller-manager and etcd (`make tools`).", m.GoVersion, m.Kubectl)
	p("- **Setup:** %d namespaces, each with ServiceAccount `%s`, Deployment `%s` (names the secret) and Deployment `%s` (gets it through the ServiceAccount), %d replicas each; rounds: %d, the order of the methods reversed every other round.", rec.N, serviceAccount, depDirect, depViaSA, rec.Replicas, rec.Rounds)
	p("- **Start of every measurement:** no pull secret, ServiceAccount without imagePullSecrets, the controller manager caught up. **End state, checked after every run:** the secret (a dockerconfigjson for the registry) in every namespace, the ServiceAccount bound to it, the Deployments' pod templates changed exactly where a restart is due: both for the runbook, the floors and the rotator under `restart.policy: Always` (its write phase included); for the rotator as shipped (`IfNeeded`), those its report says it restarted, which with 0 replicas must be none (no pod can lack the secret), and the report must give every workload its reason.")
	p("- **Client settings** of the rotator and the floor: the rotator's defaults, qps %.0f, burst %d, concurrency %d (restart concurrency 5).", rec.Defaults.QPS, rec.Defaults.Burst, rec.Defaults.Concurrency)
	p("")

	rw, rd := summarize(rec.Runs, methodRotatorWrite), summarize(rec.Runs, methodRotator)
	fl, rb := summarize(rec.Runs, methodFloor), summarize(rec.Runs, methodRunbook)
	fa, ra := summarize(rec.Runs, methodFloorAlways), summarize(rec.Runs, methodRotatorAlways)
	p("## Results at %d namespaces (medians of %d rounds)", rec.N, rec.Rounds)
	p("")
	p("| method | wall time | end state reached after | CPU time | API requests (writes) | by verb | peak RSS |")
	p("|---|---:|---:|---:|---:|---|---:|")
	for _, s := range []summary{rw, rd, fl, rb, ra, fa} {
		if len(s.Runs) == 0 {
			continue
		}
		name := s.Method
		if s.Extrapolated {
			name += " ¹"
		}
		p("| %s | %s | %s | %s | %d (%d) | %s | %.1f MiB |", name, secs(s.Wall), secs(s.EndState), secs(s.CPU), s.Requests, s.Writes, s.Runs[0].Requests.verbs(), mib(s.MaxRSSKiB))
	}
	if rb.Extrapolated {
		p("")
		p("¹ **Extrapolated:** the runbook was timed on %d of the %d namespaces and its times scaled by %d/%d; its request counts are those of the %d namespaces it ran on.", rb.MeasuredOn, rec.N, rec.N, rb.MeasuredOn, rb.MeasuredOn)
	}
	p("")
	p("*CPU time* is the process's user and system time (for the runbook, of all its kubectl processes). *Wall time* is the process from start to exit; the rotator's includes the events it sends after its writes (one per Secret and per restarted workload, counted in its requests). *End state reached after* is from the process start to the API server's answer to the last write of a Secret, ServiceAccount or Deployment (audit log timestamps), i.e. when every namespace was done. Requests are counted at the API server from its audit log, by the identity each method runs as. Peak RSS is the process's max RSS as `wait4` reports it to `bench/cmd/rsswrap`, a small wrapper each process is started through (started directly by the benchmark, a child would report the benchmark's own peak: Go starts children with vfork); for the runbook it is the largest single kubectl or bash process. The wrapper's own peak, %.1f MiB, is a floor under every number.", mib(rssFloor(rec)))
	p("")

	p("## Targets")
	p("")
	p("| target | measured | |")
	p("|---|---|---|")
	if len(rw.Runs) > 0 && len(fl.Runs) > 0 {
		r := ratio(rw.EndState, fl.EndState)
		p("| rotator write phase within 1.3x the floor (its template patches paced at %d a minute, the floor's not) | %.2fx (end state %s vs %s; wall %.2fx: %s vs %s) | %s |", writePhasePerMinute, r, secs(rw.EndState), secs(fl.EndState), ratio(rw.Wall, fl.Wall), secs(rw.Wall), secs(fl.Wall), verdict(r <= 1.3))
	}
	if len(rb.Runs) > 0 && len(rd.Runs) > 0 {
		r := ratio(rb.EndState, rd.EndState)
		p("| `rotate now` as shipped (defaults, `IfNeeded`, end to end) at least 10x faster than the runbook (time to end state) | %.1fx (%s vs %s; wall %.1fx: %s vs %s; restarted %s, not %s) | %s |", r, secs(rb.EndState), secs(rd.EndState), ratio(rb.Wall, rd.Wall), secs(rb.Wall), secs(rd.Wall), reasons(rd.Runs[0].Restarted), reasons(rd.Runs[0].NotRestarted), verdict(r >= 10))
	}
	if len(ra.Runs) > 0 {
		gets := 0
		for _, m := range ra.Runs {
			gets = max(gets, workloadGets(m.Requests))
		}
		p("| `restart.policy: Always`: 0 GETs of workloads while it waits for the rollouts | %d (largest of %d runs; whole run, watch and list: %s) | %s |", gets, len(ra.Runs), workloadReads(ra.Runs[0].Requests), verdict(gets == 0))
		if len(fa.Runs) > 0 {
			r := ratio(ra.EndState, fa.EndState)
			p("| `restart.policy: Always`: end state within 1.2x the Always floor | %.2fx (%s vs %s; wall %.2fx: %s vs %s) | %s |", r, secs(ra.EndState), secs(fa.EndState), ratio(ra.Wall, fa.Wall), secs(ra.Wall), secs(fa.Wall), verdict(r <= 1.2))
		}
	}
	if len(rb.Runs) > 0 && len(rw.Runs) > 0 {
		r := ratio(rb.EndState, rw.EndState)
		p("| for reference: the rotator's write phase (`Always`, every template patched, no wait) vs the runbook | %.1fx (%s vs %s) | the old target |", r, secs(rb.EndState), secs(rw.EndState))
		if len(fl.Runs) > 0 {
			p("| for reference: the floor vs the runbook, at the same client rate limit | %.1fx (%s vs %s) | the most any client at qps %.0f can reach here |", ratio(rb.EndState, fl.EndState), secs(rb.EndState), secs(fl.EndState), rec.Defaults.QPS)
		}
	}
	for _, nm := range rec.Noop {
		// At most the state Secret and one page (500 objects) per list of the six kinds it reads;
		// the largest list is the Deployments, two per namespace.
		bound := 1 + 6*((2*nm.Namespaces+499)/500)
		ok := nm.Requests.Writes == 0 && nm.Requests.reads() <= bound
		p("| nothing due at %d namespaces: zero writes, reads not growing per namespace | %d writes, %d reads (bound: 1 + 6 kinds x %d pages = %d): %s | %s |", nm.Namespaces, nm.Requests.Writes, nm.Requests.reads(), (2*nm.Namespaces+499)/500, bound, nm.Requests.detail(), verdict(ok))
	}
	for _, s := range rec.Scale {
		p("| peak RSS under 100 MiB at %d namespaces | %.1f MiB (`%s`) | %s |", s.Namespaces, mib(s.MaxRSSKiB), s.Method, verdict(mib(s.MaxRSSKiB) < 100))
	}
	p("")
	p("`rotate now` as shipped (`restart.policy: IfNeeded`) restarts a workload only when some current pod lacks the secret or fails to pull from the registry; with %d replicas here it restarted what the row says, and its time to end state is that of its Secret and ServiceAccount writes (and any restart). Under `Always` the rotator patches every template at `kubernetes.restartsPerMinute` (%d) and awaits every rollout by watch%s; its end state is its last template patch, the Always floor's likewise. *GETs of workloads* count `get` of deployments, statefulsets and daemonsets by the rotator's identity over the whole run, the wait included (audit log).", rec.Replicas, rec.Defaults.RestartsPerMinute, rolloutPace(ra, rec.N))
	p("")
	if len(rec.Noop) >= 2 {
		a, z := rec.Noop[0], rec.Noop[len(rec.Noop)-1]
		p("The run with nothing due read %d times at %d namespaces and %d times at %d: its reads grow only by list pages (500 objects a page), not per namespace.", a.Requests.reads(), a.Namespaces, z.Requests.reads(), z.Namespaces)
		p("")
	}

	p("## Ratios")
	p("")
	if len(rw.Runs) > 0 && len(fl.Runs) > 0 {
		p("- rotator / floor: end state %.2fx, wall %.2fx, requests %.2fx (%d vs %d).", ratio(rw.EndState, fl.EndState), ratio(rw.Wall, fl.Wall), float64(rw.Requests)/float64(max(fl.Requests, 1)), rw.Requests, fl.Requests)
	}
	if len(rb.Runs) > 0 && len(rw.Runs) > 0 {
		p("- runbook / rotator (write phase): end state %.1fx, wall %.1fx.", ratio(rb.EndState, rw.EndState), ratio(rb.Wall, rw.Wall))
	}
	if len(rb.Runs) > 0 && len(rd.Runs) > 0 {
		p("- runbook / rotator as shipped (IfNeeded): end state %.1fx, wall %.1fx.", ratio(rb.EndState, rd.EndState), ratio(rb.Wall, rd.Wall))
	}
	if len(ra.Runs) > 0 && len(fa.Runs) > 0 {
		p("- rotator Always / Always floor: end state %.2fx, wall %.2fx, requests %.2fx (%d vs %d).", ratio(ra.EndState, fa.EndState), ratio(ra.Wall, fa.Wall), float64(ra.Requests)/float64(max(fa.Requests, 1)), ra.Requests, fa.Requests)
	}
	p("")

	if len(rec.Probe) == 2 {
		pr, pf := rec.Probe[0], rec.Probe[1]
		p("## At another client rate limit (qps %g, burst %d), once", rec.ProbeQPS, 2*int(rec.ProbeQPS))
		p("")
		p("| method | wall time | end state reached after | API requests (writes) | peak RSS |")
		p("|---|---:|---:|---:|---:|")
		for _, m := range rec.Probe {
			p("| %s | %s | %s | %d (%d) | %.1f MiB |", m.Method, secs(m.Wall), secs(m.EndState), m.Requests.Total, m.Requests.Writes, mib(m.MaxRSSKiB))
		}
		p("")
		p("- rotator / floor: end state %.2fx, wall %.2fx.", ratio(pr.EndState, pf.EndState), ratio(pr.Wall, pf.Wall))
		if len(rb.Runs) > 0 {
			p("- runbook / rotator: end state %.1fx (the runbook's median above).", ratio(rb.EndState, pr.EndState))
		}
		p("")
	}

	p("## Every run")
	p("")
	p("| round | method | namespaces | wall | end state | CPU | requests by verb and resource | peak RSS | rotator steps |")
	p("|---:|---|---:|---:|---:|---:|---|---:|---|")
	all := append(append([]measurement(nil), rec.Runs...), rec.Noop...)
	for _, m := range append(append(all, rec.Probe...), rec.Scale...) {
		wall := secs(m.Wall)
		if m.Extrapolated {
			wall = fmt.Sprintf("%s (measured %s)", wall, secs(m.MeasuredWall))
		}
		p("| %d | %s | %d | %s | %s | %s | %s | %.1f MiB | %s |", m.Round, m.Method, m.Namespaces, wall, secs(m.EndState), secs(m.CPU), m.Requests.detail(), mib(m.MaxRSSKiB), steps(m.Steps))
	}
	return w.String()
}

// steps prints the rotator's step durations in pipeline order.
func steps(s map[string]time.Duration) string {
	if len(s) == 0 {
		return ""
	}
	order := []string{"plan", "issue", "verify", "write", "bind", "verify-kubelet", "restart", "revoke"}
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		if d, ok := s[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", k, d.Round(10*time.Millisecond)))
			seen[k] = true
		}
	}
	for k, d := range s {
		if !seen[k] {
			parts = append(parts, fmt.Sprintf("%s %s", k, d.Round(10*time.Millisecond)))
		}
	}
	return strings.Join(parts, ", ")
}

// rolloutPace says how fast the controller manager finished the rollouts the rotator waited for:
// that, not the rotator, sets the length of its wait.
func rolloutPace(rd summary, namespaces int) string {
	var waits []time.Duration
	for _, m := range rd.Runs {
		if d := m.Steps["restart"]; d > 0 {
			waits = append(waits, d)
		}
	}
	if len(waits) == 0 {
		return ""
	}
	d := median(waits)
	return fmt.Sprintf(" (here its restart step, %d rollouts, took %s)", 2*namespaces, secs(d))
}

// workloadKinds are the kinds of dependent workloads the rotator restarts.
var workloadKinds = []string{"deployments", "statefulsets", "daemonsets"}

// workloadGets counts GETs of single workloads: what a rollout wait by polling sends.
func workloadGets(s requestStats) int {
	n := 0
	for _, k := range workloadKinds {
		n += s.ByVerbResource["get "+k]
	}
	return n
}

// workloadReads prints the reads of workloads by verb: "list deployments 1, watch deployments 100".
func workloadReads(s requestStats) string {
	m := map[string]int{}
	for _, k := range workloadKinds {
		for _, v := range []string{"get", "list", "watch"} {
			if n := s.ByVerbResource[v+" "+k]; n > 0 {
				m[v+" "+k] = n
			}
		}
	}
	if len(m) == 0 {
		return "none"
	}
	return formatCounts(m)
}

// reasons prints a report's workloads by reason: "no-pods 600"; "none" if empty.
func reasons(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	return formatCounts(m)
}
