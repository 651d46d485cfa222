package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// The fleet scenario's target (issue 20): the down member delays no other cluster. A cluster's
// time to end state with the member down may exceed its time in the all-up rotation by at most
// the larger of these (the machine is shared: two runs of the same rotation differ by some).
const (
	fleetSlackFraction = 0.25
	fleetSlackMin      = 2 * time.Second
)

// fleetRecord is everything RESULTS-fleet.md is rendered from, saved beside it as JSON.
type fleetRecord struct {
	Scenario    string
	Args        []string
	Clusters, N int
	DownMode    string
	Rounds      int
	RevokeAfter time.Duration
	Machine     machine
	Started     time.Time
	Took        time.Duration
	Defaults    config.Kubernetes
	Registry    string
	Config      string
	Fleet       []fleetCluster
	Phases      []fleetPhase
	Unfinished  string `json:",omitempty"`
	// Failures are the phases whose run gave no report (killed at -fleet-timeout); the
	// scenario went on after them.
	Failures []string `json:",omitempty"`
}

func saveFleet(rec fleetRecord, mdPath string) error {
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath(mdPath), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(mdPath, []byte(renderFleet(rec)), 0o644)
}

func rerenderFleet(mdPath string) error {
	js, err := os.ReadFile(jsonPath(mdPath))
	if err != nil {
		return fmt.Errorf("no saved record to render from: %w", err)
	}
	var rec fleetRecord
	if err := json.Unmarshal(js, &rec); err != nil {
		return fmt.Errorf("%s: %w", jsonPath(mdPath), err)
	}
	return os.WriteFile(mdPath, []byte(renderFleet(rec)), 0o644)
}

// ofKind is the record's phases of kind, in order.
func (rec fleetRecord) ofKind(kind string) []fleetPhase {
	var out []fleetPhase
	for _, p := range rec.Phases {
		if p.Kind == kind || (p.Kind == "" && p.Name == kind) {
			out = append(out, p)
		}
	}
	return out
}

// endStates is cluster's time to end state in each of phases that has one.
func endStates(phases []fleetPhase, cluster string) []time.Duration {
	var out []time.Duration
	for _, p := range phases {
		if c, ok := p.cluster(cluster); ok && c.EndState > 0 {
			out = append(out, c.EndState)
		}
	}
	return out
}

func exitCounts(m map[int]int) string {
	if len(m) == 1 {
		for code := range m {
			return fmt.Sprint(code)
		}
	}
	parts := make([]string, 0, len(m))
	for code, n := range m {
		parts = append(parts, fmt.Sprintf("%d (%d runs)", code, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (rec fleetRecord) phase(name string) (fleetPhase, bool) {
	for _, p := range rec.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return fleetPhase{}, false
}

// fleetVerdict is one row of the targets table, computed from the record.
type fleetVerdict struct {
	Target, Measured string
	// Done: the record has the measurement; Reference: a number without a target.
	Done, OK, Reference bool
}

func fleetVerdictText(v fleetVerdict) string {
	switch {
	case !v.Done:
		return "not measured"
	case v.Reference:
		return "(no target)"
	}
	return verdict(v.OK)
}

// slack is how much later than base a cluster may reach its end state with a member down.
func slack(base time.Duration) time.Duration {
	return max(fleetSlackMin, time.Duration(fleetSlackFraction*float64(base)))
}

// allAtEndState: every cluster of the phase (but the down one) succeeded and holds its
// credential everywhere; the problems otherwise.
func allAtEndState(p fleetPhase) (bool, []string) {
	var bad []string
	for _, c := range p.Clusters {
		if c.Down {
			continue
		}
		if c.Check != "" {
			bad = append(bad, c.Cluster+": "+c.Check)
		}
	}
	return len(bad) == 0, bad
}

func fleetVerdicts(rec fleetRecord) []fleetVerdict {
	var out []fleetVerdict
	nc := len(rec.Fleet)
	if nc == 0 {
		nc = rec.Clusters
	}

	// 1. The first rotation across every cluster.
	v := fleetVerdict{Target: fmt.Sprintf("one `rotate now` across %d clusters × %d namespaces: every namespace of every cluster pullable, each cluster with a credential of its own", nc, rec.N)}
	if p, ok := rec.phase("install"); ok {
		v.Done = true
		okAll, bad := allAtEndState(p)
		ids := map[string]bool{}
		for _, c := range p.Clusters {
			if c.Issued != "" {
				ids[c.Issued] = true
			}
		}
		v.OK = okAll && len(ids) == len(p.Clusters) && p.ExitCode == 0
		v.Measured = fmt.Sprintf("exit %d; %d distinct credentials for %d clusters; end state in all %s, wall %s", p.ExitCode, len(ids), len(p.Clusters), secs(p.endStateAll()), secs(p.wall()))
		if len(bad) > 0 {
			v.Measured += "; " + strings.Join(firstFew(bad), "; ")
		}
	}
	out = append(out, v)

	bases, downs := rec.ofKind("rotate"), rec.ofKind("down")
	hasDown := len(downs) > 0
	downName := ""
	if hasDown {
		downName = downs[0].Down
	}

	// 2. Exit 1 naming the down cluster, in every run with it down.
	v = fleetVerdict{Target: "a member down: exit 1, its report failed and naming it and its API server"}
	if hasDown {
		v.Done, v.OK = true, true
		exits := map[int]int{}
		var first fleetClusterRun
		for i, p := range downs {
			c, ok := p.cluster(downName)
			v.OK = v.OK && p.ExitCode == 1 && ok && c.Result == "failed" && len(c.Errors) > 0
			exits[p.ExitCode]++
			if i == 0 {
				first = c
			}
		}
		v.Measured = fmt.Sprintf("exit %s in %d runs; the JSON report of cluster %s: %s", exitCounts(exits), len(downs), downName, first.Result)
		if len(first.Errors) > 0 {
			v.Measured += ": " + mdCell(trimTo(first.Errors[0], 220))
		}
		v.Measured += fmt.Sprintf("; %d lines of the human output (stderr) name %s", downs[0].StderrNamesDown, downName)
	}
	out = append(out, v)

	// 3. The others reach end state, no later than in the all-up rotations (medians, within the
	// slack).
	v = fleetVerdict{Target: fmt.Sprintf("a member down: every other cluster at end state, each within max(%.0f%%, %s) of its time in the all-up rotation (medians of %d rounds)", 100*fleetSlackFraction, secs(fleetSlackMin), max(len(downs), 1))}
	if hasDown && len(bases) > 0 {
		v.Done = true
		okAll := true
		var bad, parts []string
		for _, p := range downs {
			ok, b := allAtEndState(p)
			okAll = okAll && ok
			bad = append(bad, b...)
		}
		within := true
		var allDown, allBase []time.Duration
		for _, p := range downs {
			allDown = append(allDown, p.endStateAll())
		}
		for _, p := range bases {
			allBase = append(allBase, p.endStateAll())
		}
		for _, c := range downs[0].Clusters {
			if c.Down {
				continue
			}
			d, b := endStates(downs, c.Cluster), endStates(bases, c.Cluster)
			if len(d) < len(downs) || len(b) < len(bases) {
				within = false
				parts = append(parts, c.Cluster+": no time to end state in some run")
				continue
			}
			md, mb := median(d), median(b)
			if md-mb > slack(mb) {
				within = false
			}
			parts = append(parts, fmt.Sprintf("%s %s (all up %s, %+.1f s)", c.Cluster, secs(md), secs(mb), (md-mb).Seconds()))
		}
		if len(parts) == 0 {
			within = false
			parts = append(parts, "no cluster measured")
		}
		v.OK = okAll && within
		v.Measured = strings.Join(parts, "; ") + fmt.Sprintf("; in all %s (all up %s)", secs(median(allDown)), secs(median(allBase)))
		if len(bad) > 0 {
			v.Measured += "; " + strings.Join(firstFew(bad), "; ")
		}
	}
	out = append(out, v)

	// 4. The down cluster unchanged (cut off before the run), or left pullable (mid-run).
	freeze := rec.DownMode == downFreeze
	v = fleetVerdict{Target: "the down member unchanged: no request of the rotator reached its API server, every namespace still holds its previous credential"}
	if freeze {
		v.Target = "the member cut off mid-run: every namespace of it still pullable, holding its previous credential or the new one written before the cut"
	}
	if hasDown {
		var reqs, total, kept int
		var holds []string
		for _, p := range append(append([]fleetPhase(nil), downs...), rec.ofKind("revoke")...) {
			c, _ := p.cluster(downName)
			reqs += c.Requests.Total
			total += c.Namespaces
			switch {
			case freeze:
				n := c.Holds[c.PreviousID]
				if c.PendingID != c.PreviousID {
					n += c.Holds[c.PendingID]
				}
				kept += min(n, c.Pullable)
				holds = append(holds, fmt.Sprintf("%s: %d previous, %d new (written before the cut), %d pullable of %d", p.Name, c.Holds[c.PreviousID], c.Holds[c.PendingID], c.Pullable, c.Namespaces))
			default:
				kept += c.Holds[c.PreviousID]
				holds = append(holds, fmt.Sprintf("%s: %d of %d", p.Name, c.Holds[c.PreviousID], c.Namespaces))
			}
			if c.PreviousID == "" {
				kept = -1
			}
		}
		v.Done = true
		if freeze {
			v.OK = kept == total
			v.Measured = strings.Join(holds, "; ")
		} else {
			v.OK = reqs == 0 && kept == total
			v.Measured = fmt.Sprintf("%d requests at its API server; namespaces holding its previous credential: %s", reqs, strings.Join(holds, ", "))
		}
	}
	out = append(out, v)

	// 5. Revocation: the others' old credentials revoked, the down member's kept.
	v = fleetVerdict{Target: "a member down, the grace period past: every other cluster's old credentials revoked at the Harbor double, the down member's previous credential not"}
	if p, ok := rec.phase("revoke"); ok {
		v.Done = true
		okAll := true
		var parts []string
		for _, c := range p.Clusters {
			alive, gone := 0, 0
			for _, r := range c.Robots {
				if r.Exists {
					alive++
				} else {
					gone++
				}
			}
			heldAlive := false
			for _, r := range c.Robots {
				if r.ID == c.ExpectedID && r.Exists {
					heldAlive = true
				}
			}
			if c.Down {
				// Every credential its namespaces hold must survive.
				held := true
				for id := range c.Holds {
					found := false
					for _, r := range c.Robots {
						found = found || (r.ID == id && r.Exists)
					}
					held = held && found
				}
				okAll = okAll && held
				parts = append(parts, fmt.Sprintf("%s (down): %d of %d issued still exist, those its namespaces hold: %s", c.Cluster, alive, len(c.Robots), existsText(held)))
				continue
			}
			// Only the one in use left.
			okAll = okAll && heldAlive && alive == 1
			parts = append(parts, fmt.Sprintf("%s: %d of %d issued revoked", c.Cluster, gone, len(c.Robots)))
		}
		v.OK = okAll
		v.Measured = fmt.Sprintf("exit %d; ", p.ExitCode) + strings.Join(parts, "; ")
	}
	out = append(out, v)

	// 6. Nothing issued for, or left behind by, the down member.
	v = fleetVerdict{Target: "a member down: no credential issued for it, none left at Harbor by its failed run (robots at Harbor change by issued − revoked)"}
	if freeze {
		v.Target = "a member cut off mid-run: no credential left at Harbor unaccounted for (robots at Harbor change by issued − revoked)"
	}
	if hasDown {
		v.Done = true
		ok := true
		var parts []string
		for _, p := range append(append([]fleetPhase(nil), downs...), rec.ofKind("revoke")...) {
			issued, revoked := 0, 0
			downIssued := false
			for _, c := range p.Clusters {
				if c.Issued != "" {
					issued++
					downIssued = downIssued || c.Down
				}
				revoked += len(c.Revoked)
			}
			delta := p.RobotsAfter - p.RobotsBefore
			ok = ok && (freeze || !downIssued) && delta == issued-revoked
			parts = append(parts, fmt.Sprintf("%s: %d → %d robots, %d issued, %d revoked", p.Name, p.RobotsBefore, p.RobotsAfter, issued, revoked))
		}
		v.OK = ok
		v.Measured = strings.Join(parts, "; ")
	}
	out = append(out, v)

	// 7. Back.
	if p, ok := rec.phase("back"); ok {
		v = fleetVerdict{Target: "the member reachable again: the next `rotate now --if-due` succeeds in every cluster"}
		v.Done = true
		okAll, bad := allAtEndState(p)
		v.OK = okAll && p.ExitCode == 0
		c, _ := p.cluster(downName)
		v.Measured = fmt.Sprintf("exit %d; %s: %s, %d of %d namespaces pullable, holding %s", p.ExitCode, downName, c.Result, c.Pullable, c.Namespaces, holdsText(c.Holds))
		if len(bad) > 0 {
			v.Measured += "; " + strings.Join(firstFew(bad), "; ")
		}
		out = append(out, v)
	}

	// 8. How long a run lasts with a member down, for reference.
	if hasDown {
		v = fleetVerdict{Target: "a member down: how long the run lasts (wall), and the rotator's time on the member (its report's duration)", Reference: true, Done: true}
		var parts []string
		for _, p := range downs {
			c, _ := p.cluster(downName)
			s := fmt.Sprintf("%s: wall %s, %s %s after %s", p.Name, secs(p.wall()), downName, c.Result, ms(c.Duration))
			if p.CutAt > 0 {
				s += fmt.Sprintf(" (cut at %s)", secs(p.CutAt))
			}
			s += fmt.Sprintf(", the others at end state by %s", secs(p.endStateAll()))
			if p.EventFailures > 0 {
				s += fmt.Sprintf("; %d Events could not be recorded, logged from %s to %s", p.EventFailures, secs(p.EventFailFirst), secs(p.EventFailLast))
				if p.EventFailures > 1 {
					s += fmt.Sprintf(" (one every %.1f s)", (p.EventFailLast-p.EventFailFirst).Seconds()/float64(p.EventFailures-1))
				}
			}
			parts = append(parts, s)
		}
		v.Measured = strings.Join(parts, "; ")
		out = append(out, v)
	}

	// 9. Peak RSS, for reference.
	v = fleetVerdict{Target: "peak RSS of `rotate now` across the fleet (wait4 through rsswrap)", Reference: true}
	var parts []string
	for _, p := range rec.Phases {
		if p.MaxRSSKiB > 0 {
			v.Done = true
			parts = append(parts, fmt.Sprintf("%s %.1f MiB", p.Name, mib(p.MaxRSSKiB)))
		}
	}
	v.Measured = strings.Join(parts, ", ")
	out = append(out, v)
	return out
}

// missedRotation says whether the member that was down caught up, once back, with the forced
// rotation (`rotate now` without --if-due) it missed in the down phase.
func missedRotation(rec fleetRecord) string {
	back, ok := rec.phase("back")
	downs := rec.ofKind("down")
	if !ok || len(downs) == 0 {
		return ""
	}
	down := downs[len(downs)-1]
	c, ok := back.cluster(down.Down)
	if !ok {
		return ""
	}
	if c.Issued != "" {
		return fmt.Sprintf("Once back, %s was rotated (credential %s): it caught up with the forced rotation it missed.", c.Cluster, shortID(c.Issued))
	}
	held := "an earlier phase"
	for _, r := range c.Robots {
		if r.ID == c.ExpectedID {
			held = "phase " + r.Phase
		}
	}
	others := 0
	for _, o := range down.Clusters {
		if !o.Down && o.Issued != "" {
			others++
		}
	}
	return fmt.Sprintf("Once back, %s was **not** rotated: its namespaces still hold credential %s, issued in %s, while the %d other clusters hold the credential of the forced rotation it missed in phase %s. `rotate now --if-due` acts on what is due, and a forced rotation that failed for one member is not remembered: the operator must run `rotate now --cluster %s` again (the credential it holds stays valid until its expiry).",
		c.Cluster, shortID(c.ExpectedID), held, others, down.Name, c.Cluster)
}

func existsText(ok bool) string {
	if ok {
		return "exists"
	}
	return "**gone**"
}

func shortID(id string) string {
	if id == "" {
		return "(none)"
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func holdsText(h map[string]int) string {
	m := map[string]int{}
	for k, v := range h {
		m[shortID(k)] = v
	}
	return countsOrNone(m)
}

func trimTo(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// mdCell keeps a table cell on one line and its pipes escaped.
func mdCell(s string) string {
	return strings.NewReplacer("\n", " ", "|", `\|`).Replace(s)
}

// renderFleet renders RESULTS-fleet.md from a record.
func renderFleet(rec fleetRecord) string {
	m := rec.Machine
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

	p("# Benchmark results: a fleet (`rotate now` across clusters)")
	p("")
	p("Written by `go run ./bench/cmd/rotatorbench -scenario fleet` (issue 20); every number below comes from that run and every verdict is computed from them. `-scenario fleet -render` renders this file again from the JSON record beside it.")
	p("")
	p("- **Command:** `%s`", strings.Join(append([]string{"rotatorbench"}, rec.Args...), " "))
	p("- **Date:** %s (took %s)", rec.Started.UTC().Format("2006-01-02 15:04 UTC"), rec.Took.Round(time.Second))
	p("- **Machine:** %d CPUs (%s), %s memory, Linux %s, load average %s at the start; shared with other work, so expect noise. Every cluster's servers run on this one machine.", m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.LoadAvg)
	p("- **Software:** %s; the sandbox's kube-apiserver (audit log at level Metadata), kube-controller-manager and etcd (`make tools`), one set per cluster.", m.GoVersion)
	var members []string
	for _, c := range rec.Fleet {
		if c.Name == fleetLocal {
			continue
		}
		s := fmt.Sprintf("%s (started in %s, %.0f MiB resident", c.Name, secs(c.StartTime), float64(c.RSSBytes)/(1<<20))
		if c.Gated {
			s += ", behind the gate"
		}
		members = append(members, s+")")
	}
	p("- **Fleet:** %d clusters: the rotator's own (`local`, its state in `%s`) and %d members started by `sandbox.Rig.StartCluster`, each its own etcd, kube-apiserver and controller manager: %s.", len(rec.Fleet), stateNamespace, len(members), strings.Join(members, "; "))
	p("- **Fixture:** %d target namespaces in every cluster (label `%s=true`), each with ServiceAccount `%s` and Deployments `%s` and `%s` (replicas 0).", rec.N, benchLabel, serviceAccount, depDirect, depViaSA)
	p("- **Rotator:** `rotator rotate now --config rotator-fleet.yaml -o json` as the rig's `rotator` user (the shipped RBAC, in every cluster), through `bench/cmd/rsswrap`; one Harbor credential (the sandbox's Harbor double) targeting every cluster, `revokeAfter: %s`, `restart.policy: IfNeeded`, client qps %.0f, burst %d, %d workers per cluster (the defaults).", rec.RevokeAfter, rec.Defaults.QPS, rec.Defaults.Burst, rec.Defaults.Concurrency)
	p("- **The member down:** the first member in the config is reached through a TCP gate in front of its API server; for the phases `down` and `revoke` the gate is closed (`%s`: %s), and open for the others. An all-up rotation and one with the member down alternate %d times (`-fleet-rounds`).", rec.DownMode, downModeText(rec.DownMode), max(rec.Rounds, 1))
	if rec.Unfinished != "" {
		p("- **The run did not finish:** %s. The rows below are what it measured before that.", rec.Unfinished)
	}
	for _, f := range rec.Failures {
		p("- **A run gave no report:** %s. Its clusters were measured and checked all the same, and the scenario went on.", mdCell(f))
	}
	p("")

	p("## Targets")
	p("")
	p("| target | measured | |")
	p("|---|---|---|")
	for _, v := range fleetVerdicts(rec) {
		measured := v.Measured
		if !v.Done {
			measured = "–"
		}
		p("| %s | %s | %s |", v.Target, measured, fleetVerdictText(v))
	}
	p("")

	p("## Phases")
	p("")
	p("| phase | command | cluster down | exit | wall | end state in all | requests, all clusters | peak RSS | rotator CPU | robots at Harbor |")
	p("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, ph := range rec.Phases {
		total := 0
		for _, c := range ph.Clusters {
			total += c.Requests.Total
		}
		downText := "–"
		if ph.Down != "" {
			downText = ph.Down + " (" + ph.Mode + ")"
			if ph.CutAt > 0 {
				downText += fmt.Sprintf(", cut at %s", secs(ph.CutAt))
			}
		}
		p("| %s | `%s` | %s | %d | %s | %s | %d | %.1f MiB | %s | %d → %d |", ph.Name, strings.Join(ph.Args, " "), downText, ph.ExitCode, secs(ph.wall()), secs(ph.endStateAll()),
			total, mib(ph.MaxRSSKiB), secs(ph.CPU), ph.RobotsBefore, ph.RobotsAfter)
	}
	p("")
	p("*End state in all* is the latest of the clusters' times to end state (the down member left out). A cluster's *time to end state* is from the rotator process's start to the answer to its last write of a Secret, ServiceAccount or Deployment in that cluster, by that cluster's own audit log; *requests* are the `rotator` identity's completed requests in each cluster's audit log during the run. *Peak RSS* is wait4's max RSS of the rotator process (rsswrap).")
	p("")
	for _, ph := range rec.Phases {
		p("### %s", ph.Name)
		p("")
		p("%s.", upperFirst(ph.Note))
		p("")
		p("| cluster | result | report's duration | time to end state | requests | by verb | credential issued | revoked | namespaces holding (credential: count) | pullable | templates changed | check |")
		p("|---|---|---:|---:|---:|---|---|---:|---|---:|---:|---|")
		for _, c := range ph.Clusters {
			name := c.Cluster
			if c.Down {
				name += " (**down**)"
			}
			check := "as expected"
			if c.Check != "" {
				check = mdCell(c.Check)
			}
			issued := shortID(c.Issued)
			if c.Issued == "" {
				issued = "–"
			}
			p("| %s | %s | %s | %s | %d | %s | %s | %d | %s | %d of %d | %d | %s |", name, c.Result, secs(c.Duration), secs(c.EndState), c.Requests.Total, c.Requests.verbs(), issued, len(c.Revoked),
				holdsText(c.Holds), c.Pullable, c.Namespaces, c.TemplatesSet, check)
		}
		p("")
		var errs []string
		for _, c := range ph.Clusters {
			for _, e := range c.Errors {
				errs = append(errs, fmt.Sprintf("%s: `%s`", c.Cluster, mdCell(trimTo(e, 400))))
			}
		}
		if len(errs) > 0 {
			p("Errors in the report: %s", strings.Join(errs, "; "))
			p("")
		}
		p("Requests by verb and resource: %s.", clusterDetails(ph))
		p("")
		p("Load average %s at the start, %s at the end; the CPUs were %.0f%% busy.", ph.Load.LoadStart, ph.Load.LoadEnd, 100*ph.Load.Busy)
		p("")
		if ph.Name == "back" {
			if note := missedRotation(rec); note != "" {
				p("%s", note)
				p("")
			}
		}
	}
	if downs := rec.ofKind("down"); len(downs) > 0 && strings.TrimSpace(downs[0].Stderr) != "" {
		p2 := downs[0]
		p("## The rotator's output with the member down (end of stderr)")
		p("")
		p("```")
		p("%s", strings.TrimRight(p2.Stderr, "\n"))
		p("```")
		p("")
	}
	p("## The config")
	p("")
	p("```yaml")
	p("%s", strings.TrimRight(rec.Config, "\n"))
	p("```")
	return w.String()
}

func clusterDetails(ph fleetPhase) string {
	parts := make([]string, 0, len(ph.Clusters))
	for _, c := range ph.Clusters {
		parts = append(parts, fmt.Sprintf("**%s**: %s", c.Cluster, c.Requests.detail()))
	}
	return strings.Join(parts, "; ")
}

func downModeText(mode string) string {
	switch mode {
	case downRefuse:
		return "connections refused at once, open ones closed, as an API server gone or a firewall that rejects"
	case downBlackhole:
		return "connections accepted and never answered, as a partition that drops packets: every request waits for the client's timeouts"
	case downFreeze:
		return "in the middle of the run, at the rotator's first Secret write in the member, the open connections stop carrying anything and new ones are never answered: the requests in flight wait for the client's timeouts"
	}
	return "unknown"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
