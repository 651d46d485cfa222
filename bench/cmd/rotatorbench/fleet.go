package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rotatorhq/rotator/internal/sandbox"
)

// The fleet scenario (-scenario fleet, issue 20): one `rotator rotate now` across the rotator's
// own cluster and -fleet-clusters - 1 members (each its own etcd, kube-apiserver with an audit
// log, controller manager: sandbox.Rig.StartCluster), -fleet-n target namespaces in each, one
// Harbor credential targeting them all. The first member is reached through a TCP gate
// (fleetgate.go) that is closed for the phases with a member down.
//
// Phases, each one `rotate now` measured (wall, per cluster time to end state and requests from
// that cluster's own audit log, peak RSS through rsswrap):
//
//   - install: every cluster up, nothing there yet: a credential per cluster, written everywhere;
//   - rotate: every cluster up, a new credential everywhere: the baseline of a rotation;
//   - down: the gate closed, a new credential everywhere else (rotate and down alternate
//     -fleet-rounds times, the gate open again for each rotate);
//   - revoke: after revokeAfter, `rotate now --if-due` with the member still down: the others
//     revoke their old credentials, the down member's stays;
//   - back (-fleet-recover): the gate open again, `rotate now --if-due`.

// fleetOptions are the fleet scenario's flags.
type fleetOptions struct {
	clusters, n int
	down        string
	revokeAfter time.Duration
	timeout     time.Duration
	recover     bool
	qps         float64
	rounds      int
}

const (
	fleetLocal = "local"
	// noReport is the result of a cluster the run reported nothing for (killed at -fleet-timeout).
	noReport = "(no report)"
	// fleetMemberPrefix names the members: member-1 (the one cut off), member-2, ...
	fleetMemberPrefix = "member-"
)

// fleetCluster is one cluster of the fleet as set up.
type fleetCluster struct {
	Name string
	// Gated: reached by the rotator through the gate (the member cut off in the down phases).
	Gated bool
	// StartTime is how long StartCluster took (0 for the rotator's own).
	StartTime time.Duration
	// RSSBytes is its servers' resident memory once the fixture was in place (members only).
	RSSBytes int64

	fx    *fixture
	audit auditLog
}

// fleetRobot is one credential issued for a cluster, and whether it still existed at the Harbor
// double after a phase.
type fleetRobot struct {
	ID, Name string
	// Phase it was issued in.
	Phase  string
	Exists bool
}

// fleetClusterRun is one cluster's part of a phase.
type fleetClusterRun struct {
	Cluster string
	// Down: cut off (the gate closed) during the phase.
	Down bool
	// Result, Issued and Revoked are from the rotator's report for this cluster.
	Result     string
	Issued     string `json:",omitempty"`
	IssuedName string `json:",omitempty"`
	Revoked    []string
	Errors     []string `json:",omitempty"`
	Requests   requestStats
	EndState   time.Duration
	// Duration is the report's: how long the rotator worked on this cluster.
	Duration   time.Duration
	PreviousID string `json:",omitempty"`
	ExpectedID string `json:",omitempty"`
	// PendingID is a credential issued for the cluster and written to some of its namespaces
	// before it was cut off mid-run (freeze), not promoted: its namespaces may hold it.
	PendingID    string `json:",omitempty"`
	Namespaces   int
	Holds        map[string]int
	Pullable     int
	TemplatesSet int // Deployments whose pod template the phase changed
	// Check is empty when the cluster is as expected after the phase, else what is wrong.
	Check  string `json:",omitempty"`
	Robots []fleetRobot
}

// fleetPhase is one `rotate now` of the scenario.
type fleetPhase struct {
	// Kind is install, rotate, down, revoke or back; Round the round of a rotate or down (from
	// 1; 0 for the others); Name is Kind, with "-Round" when there is more than one round.
	Name, Kind, Note string
	Round            int
	Args             []string
	// Down is the cluster cut off during the phase ("" none), Mode how.
	Down, Mode   string
	Start, End   time.Time
	ExitCode     int
	WantExit     int
	MaxRSSKiB    int64
	RSSFloorKiB  int64
	CPU          time.Duration
	RobotsBefore int
	RobotsAfter  int
	Clusters     []fleetClusterRun
	Load         machineLoad
	// Stderr is the end of the rotator's stderr (the human summary); StderrNamesDown counts the
	// lines of all of it that name the cluster down.
	Stderr          string
	StderrNamesDown int
	// EventFailures counts the rotator's "could not record event" warnings; the first and the
	// last were logged this long after the process start.
	EventFailures                 int           `json:",omitempty"`
	EventFailFirst, EventFailLast time.Duration `json:",omitempty"`
	// CutAt is when the gate froze, from the process start (freeze: at the rotator's first
	// Secret write in the member).
	CutAt time.Duration `json:",omitempty"`
	// Failure says why the phase could not be measured.
	Failure string `json:",omitempty"`
}

func (p fleetPhase) wall() time.Duration { return p.End.Sub(p.Start) }

func (p fleetPhase) cluster(name string) (fleetClusterRun, bool) {
	for _, c := range p.Clusters {
		if c.Cluster == name {
			return c, true
		}
	}
	return fleetClusterRun{}, false
}

// endStateAll is the latest time to end state of the phase's clusters that were up.
func (p fleetPhase) endStateAll() time.Duration {
	var d time.Duration
	for _, c := range p.Clusters {
		if !c.Down {
			d = max(d, c.EndState)
		}
	}
	return d
}

// fleetRun is one run of the scenario.
type fleetRun struct {
	b        *bench
	fo       fleetOptions
	rec      fleetRecord
	clusters []*fleetCluster
	gate     *tcpGate
	config   string
	nss      []string
	// current is each cluster's credential id in use (what its namespaces hold).
	current map[string]string
	// pending is a cluster's credential issued and partly written when it was cut off mid-run.
	pending map[string]string
	robots  map[string][]fleetRobot
}

// fleet runs the fleet scenario and writes its results, also when it stopped half way.
func (b *bench) fleet(ctx context.Context) error {
	fr := &fleetRun{b: b, fo: b.opts.fleet, current: map[string]string{}, pending: map[string]string{}, robots: map[string][]fleetRobot{}}
	err := fr.run(ctx)
	if fr.gate != nil {
		fr.gate.stop()
	}
	if b.rig != nil {
		defer b.rig.Stop() //nolint:contextcheck // stopping must not depend on ctx, which may be done by then
	}
	rec := fr.record()
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		if len(first) > 300 {
			first = first[:300] + "..."
		}
		rec.Unfinished = first
	}
	if serr := saveFleet(rec, b.opts.out); serr != nil {
		return errors.Join(err, serr)
	}
	logf("wrote %s", b.opts.out)
	for _, v := range fleetVerdicts(rec) {
		logf("  %s: %s — %s", v.Target, v.Measured, fleetVerdictText(v))
	}
	return err
}

func (fr *fleetRun) record() fleetRecord {
	rec := fr.rec
	b, fo := fr.b, fr.fo
	rec.Scenario, rec.Args = "fleet", os.Args[1:]
	rec.Clusters, rec.N, rec.DownMode, rec.RevokeAfter, rec.Rounds = fo.clusters, fo.n, fo.down, fo.revokeAfter, fo.rounds
	rec.Machine, rec.Started, rec.Took, rec.Defaults = b.machine, b.started, time.Since(b.started), b.defaults
	rec.Fleet = nil
	for _, c := range fr.clusters {
		rec.Fleet = append(rec.Fleet, *c)
	}
	return rec
}

func (fr *fleetRun) run(ctx context.Context) error {
	b, fo := fr.b, fr.fo
	if fo.rounds < 1 {
		return fmt.Errorf("-fleet-rounds %d: want at least 1", fo.rounds)
	}
	if fo.clusters < 2 {
		return fmt.Errorf("-fleet-clusters %d: want at least 2 (the rotator's own and a member to cut off)", fo.clusters)
	}
	if err := b.startRig(ctx); err != nil {
		return err
	}
	rig := b.rig
	fr.rec.Registry = b.registry
	local, err := fr.newCluster(fleetLocal, rig.AdminConfig, rig.AuditLog)
	if err != nil {
		return err
	}
	fr.clusters = append(fr.clusters, local)
	members := make([]*sandbox.Cluster, 0, fo.clusters-1)
	for i := 1; i < fo.clusters; i++ {
		name := fmt.Sprintf("%s%d", fleetMemberPrefix, i)
		logf("start member cluster %s", name)
		m, err := rig.StartCluster(ctx, name)
		if err != nil {
			return fmt.Errorf("start member %s: %w", name, err)
		}
		members = append(members, m)
		c, err := fr.newCluster(name, m.AdminConfig, m.AuditLog)
		if err != nil {
			return err
		}
		c.StartTime, c.Gated = m.StartTime, i == 1
		fr.clusters = append(fr.clusters, c)
		logf("  %s serves at %s (started in %s)", name, m.KubeURL, m.StartTime.Round(time.Millisecond))
	}
	if fr.gate, err = newTCPGate(members[0].KubeURL); err != nil {
		return err
	}
	if fr.config, err = fr.writeConfig(members); err != nil {
		return err
	}

	// The fixture, in every cluster at once.
	fr.nss = nsNames(0, fo.n)
	logf("create %d namespaces in each of %d clusters, each with ServiceAccount %s and Deployments %s, %s (replicas 0)", fo.n, len(fr.clusters), serviceAccount, depDirect, depViaSA)
	if err := fr.eachCluster(func(c *fleetCluster) error {
		if err := c.fx.ensure(ctx, fr.nss); err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		_, err := c.fx.quiesce(ctx)
		return err
	}); err != nil {
		return err
	}
	for i, m := range members {
		if rss, err := m.RSS(); err == nil {
			fr.clusters[i+1].RSSBytes = rss
		}
	}
	down := fr.clusters[1].Name

	if err := fr.phase(ctx, "install", 0, "every cluster up, no pull Secret anywhere: a credential issued per cluster and written to every namespace", "", 0); err != nil {
		return err
	}
	for round := 1; round <= fo.rounds; round++ {
		if err := fr.phase(ctx, "rotate", round, "every cluster up: a new credential per cluster, written everywhere (the baseline of a rotation)", "", 0); err != nil {
			return err
		}
		note := fmt.Sprintf("%s cut off (gate: %s) before the run: a new credential in every other cluster", down, fo.down)
		if fo.down == downFreeze {
			note = fmt.Sprintf("%s frozen at the gate in the middle of the run, at the rotator's first Secret write there: a new credential in every other cluster", down)
		}
		if err := fr.phase(ctx, "down", round, note, down, 1); err != nil {
			return err
		}
	}
	logf("wait %s (revokeAfter) for the old credentials' grace period", fo.revokeAfter+time.Second)
	if err := sleepCtx(ctx, fo.revokeAfter+time.Second); err != nil {
		return err
	}
	if err := fr.phase(ctx, "revoke", 0, fmt.Sprintf("%s still cut off, revokeAfter past: the others revoke their old credentials", down), down, 1, "--if-due"); err != nil {
		return err
	}
	if fo.recover {
		if err := fr.phase(ctx, "back", 0, fmt.Sprintf("%s reachable again", down), "", 0, "--if-due"); err != nil {
			return err
		}
	}
	return nil
}

// eventFailures reads the rotator's "could not record event" warnings from its stderr (slog
// text: time=... level=WARN msg="could not record event" ...): how many, and when the first and
// the last were logged, from start.
func eventFailures(stderr []byte, start time.Time) (n int, first, last time.Duration) {
	for _, l := range strings.Split(string(stderr), "\n") {
		if !strings.Contains(l, `msg="could not record event"`) {
			continue
		}
		n++
		v, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			continue
		}
		d := at.Sub(start)
		if first == 0 || d < first {
			first = d
		}
		last = max(last, d)
	}
	return n, first, last
}

func (fr *fleetRun) cluster(name string) *fleetCluster {
	for _, c := range fr.clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cutAtFirstWrite freezes the gate as soon as c's audit log shows the rotator's first write of
// a target Secret after mark; stop ends the watch and returns when it froze (zero: it did not).
func (fr *fleetRun) cutAtFirstWrite(ctx context.Context, c *fleetCluster, mark auditMark) (stop func() time.Time) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan time.Time, 1)
	go func() {
		var at time.Time
		defer func() { done <- at }()
		for ctx.Err() == nil {
			evs, err := c.audit.since(mark, fr.b.r.rotatorUser)
			if err == nil {
				for _, e := range evs {
					if e.isWrite() && e.resource() == "secrets" && e.ObjectRef.Name == secretName && e.ResponseStatus.Code < 300 {
						if err := fr.gate.close(downFreeze); err == nil {
							at = time.Now()
							logf("  %s frozen at the gate after the rotator's first Secret write there (%s)", c.Name, e.ObjectRef.Namespace)
						}
						return
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() time.Time {
		cancel()
		return <-done
	}
}

// newCluster is a cluster of the fleet with a fixture builder of its own (the admin's client at
// the fixture's rate limit) and its API server's audit log.
func (fr *fleetRun) newCluster(name string, adminConfig *rest.Config, audit string) (*fleetCluster, error) {
	fast := rest.CopyConfig(adminConfig)
	fast.QPS, fast.Burst = float32(fr.fo.qps), 2*int(fr.fo.qps)
	admin, err := kubernetes.NewForConfig(fast)
	if err != nil {
		return nil, err
	}
	return &fleetCluster{Name: name, audit: auditLog{path: audit},
		fx: &fixture{admin: admin, image: fr.b.rig.Images["proj-a"], replicas: 0, workers: 16}}, nil
}

func (fr *fleetRun) eachCluster(fn func(*fleetCluster) error) error {
	errs := make([]error, len(fr.clusters))
	var wg sync.WaitGroup
	for i, c := range fr.clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeConfig writes the fleet's config: the members (the first through the gate, and first in
// the config's order, so a run that stopped at it would leave the others unrotated), one Harbor
// credential targeting every cluster, every other setting the default.
func (fr *fleetRun) writeConfig(members []*sandbox.Cluster) (string, error) {
	b := fr.b
	var clusters strings.Builder
	names := []string{fleetLocal}
	for i, m := range members {
		kubeconfig := m.RotatorKubeconfig
		if i == 0 {
			kubeconfig = filepath.Join(b.dir, m.Name+"-via-gate.kubeconfig")
			if err := kubeconfigVia(m.RotatorKubeconfig, fr.gate.url(), kubeconfig); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&clusters, "- name: %s\n  kubeconfigFrom: {file: %s}\n", m.Name, kubeconfig)
		names = append(names, m.Name)
	}
	cfg := fmt.Sprintf(`stateNamespace: %s
clusters:
%scredentials:
- name: %s
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [proj-a]
  revokeAfter: %s
  targets:
    secretName: %s
    namespaceSelector: "%s=true"
    serviceAccounts: [%s]
    clusters: [%s]
`, stateNamespace, clusters.String(), credentialName, b.rig.HarborURL, b.rig.HarborUsername, fr.fo.revokeAfter,
		secretName, benchLabel, serviceAccount, strings.Join(names, ", "))
	path := filepath.Join(b.dir, "rotator-fleet.yaml")
	fr.rec.Config = cfg
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// fleetReport is the part of a report of `rotate now -o json` read here.
type fleetReport struct {
	Cluster string `json:"cluster"`
	Result  string `json:"result"`
	Issued  *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"issued"`
	Revoked []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"revoked"`
	Errors   []string      `json:"errors"`
	Duration time.Duration `json:"durationNanos"`
}

// phase runs one `rotate now` across the fleet with down cut off (when set), measures it and
// checks every cluster afterwards.
func (fr *fleetRun) phase(ctx context.Context, kind string, round int, note, down string, wantExit int, flags ...string) error {
	b, fo := fr.b, fr.fo
	name := kind
	if round > 0 && fo.rounds > 1 {
		name = fmt.Sprintf("%s-%d", kind, round)
	}
	ph := fleetPhase{Name: name, Kind: kind, Round: round, Note: note, Down: down, WantExit: wantExit}
	// midRun: the member is cut off in the middle of this run (freeze), not before it.
	midRun := down != "" && fo.down == downFreeze && kind == "down"
	switch {
	case down != "" && !midRun:
		ph.Mode = fo.down
		if err := fr.gate.close(fo.down); err != nil {
			return err
		}
	default:
		ph.Mode = fo.down
		if down == "" {
			ph.Mode = ""
		}
		if err := fr.gate.open(); err != nil {
			return err
		}
	}
	before := map[string]map[string]map[string]string{}
	marks := map[string]auditMark{}
	for _, c := range fr.clusters {
		t, err := c.fx.templates(ctx)
		if err != nil {
			return err
		}
		before[c.Name] = t
		if marks[c.Name], err = c.audit.mark(); err != nil {
			return err
		}
	}
	ph.RobotsBefore = len(b.rig.Harbor.Robots())
	args := append([]string{"--kubeconfig", b.r.rotatorKubeconfig, "rotate", "now", "--config", fr.config, "-o", "json"}, flags...)
	ph.Args = append([]string{"rotate", "now", "--config", "rotator-fleet.yaml", "-o", "json"}, flags...)
	logf("phase %s: rotator %s", name, strings.Join(ph.Args, " "))
	snap := snapshotMachine()
	rctx, cancel := context.WithTimeout(ctx, fo.timeout)
	var stopCut func() time.Time
	if midRun {
		stopCut = fr.cutAtFirstWrite(rctx, fr.cluster(down), marks[down])
	}
	run, runErr := b.r.spawn.run(rctx, []string{"HARBOR_PASSWORD=" + b.r.harborPassword}, b.r.rotatorBin, args...)
	if stopCut != nil {
		if at := stopCut(); !at.IsZero() {
			ph.CutAt = at.Sub(run.Start)
		}
	}
	cancel()
	ph.Start, ph.End, ph.ExitCode = run.Start, run.End, run.ExitCode
	ph.MaxRSSKiB, ph.RSSFloorKiB, ph.CPU = run.MaxRSSKiB, run.RSSFloorKiB, run.CPU
	ph.Load = loadBetween(snap, snapshotMachine())
	ph.Stderr = tail(run.Stderr, 1500)
	if err := os.WriteFile(filepath.Join(b.dir, "phase-"+name+".stderr"), run.Stderr, 0o600); err != nil {
		return err
	}
	if down != "" {
		for _, l := range strings.Split(string(run.Stderr), "\n") {
			if strings.Contains(l, down) {
				ph.StderrNamesDown++
			}
		}
	}
	ph.EventFailures, ph.EventFailFirst, ph.EventFailLast = eventFailures(run.Stderr, run.Start)
	defer func() { fr.rec.Phases = append(fr.rec.Phases, ph) }()
	var doc struct {
		Reports []fleetReport `json:"reports"`
	}
	// Without a report (the run killed at -fleet-timeout), every cluster is still measured and
	// checked, and the phase fails after.
	var failed error
	if err := json.Unmarshal(run.Stdout, &doc); err != nil {
		ph.Failure = fmt.Sprintf("no JSON report (exit %d after %s): %v", run.ExitCode, run.wall().Round(time.Second), runErr)
		failed = fmt.Errorf("phase %s: %s", name, ph.Failure)
		logf("  %s:\n%s", ph.Failure, tail(run.Stderr, 2000))
	}
	if runErr != nil && run.ExitCode != wantExit {
		logf("  exit %d (want %d): %s", run.ExitCode, wantExit, tail(run.Stderr, 600))
	}
	time.Sleep(time.Second) // the audit log's last lines
	reports := map[string]fleetReport{}
	for _, r := range doc.Reports {
		c := r.Cluster
		if c == "" {
			c = fleetLocal
		}
		reports[c] = r
	}
	robotsNow := map[string]bool{}
	for _, r := range b.rig.Harbor.Robots() {
		robotsNow[r.Name] = true
	}
	ph.RobotsAfter = len(robotsNow)
	for _, c := range fr.clusters {
		cr := fleetClusterRun{Cluster: c.Name, Down: c.Name == down, Namespaces: len(fr.nss), PreviousID: fr.current[c.Name]}
		rep, ok := reports[c.Name]
		if !ok {
			cr.Result = noReport
		} else {
			cr.Result, cr.Errors, cr.Duration = rep.Result, firstFew(rep.Errors), rep.Duration
			if rep.Issued != nil {
				cr.Issued, cr.IssuedName = rep.Issued.ID, rep.Issued.Name
				fr.robots[c.Name] = append(fr.robots[c.Name], fleetRobot{ID: rep.Issued.ID, Name: rep.Issued.Name, Phase: name})
			}
			for _, rv := range rep.Revoked {
				cr.Revoked = append(cr.Revoked, rv.Name)
			}
		}
		evs, err := c.audit.since(marks[c.Name], b.r.rotatorUser)
		if err != nil {
			return err
		}
		cr.Requests = summarise(evs)
		if !cr.Requests.LastEndStateWrite.IsZero() {
			cr.EndState = cr.Requests.LastEndStateWrite.Sub(run.Start)
		}
		cr.ExpectedID = fr.current[c.Name]
		if cr.Issued != "" && cr.Result == "succeeded" {
			cr.ExpectedID = cr.Issued
		}
		cr.PendingID = fr.pending[c.Name]
		if cr.Down && cr.Issued != "" {
			cr.PendingID = cr.Issued // issued before the cut, and not promoted
		}
		if err := fr.check(ctx, c, &cr, before[c.Name]); err != nil {
			return err
		}
		switch {
		case cr.PendingID != "" && !cr.Down && cr.Holds[cr.PendingID] == len(fr.nss):
			cr.ExpectedID = cr.PendingID // resumed and finished
			delete(fr.pending, c.Name)
		case cr.PendingID != "" && cr.Down:
			fr.pending[c.Name] = cr.PendingID
		case !cr.Down:
			delete(fr.pending, c.Name)
		}
		fr.current[c.Name] = cr.ExpectedID
		for _, r := range fr.robots[c.Name] {
			r.Exists = robotsNow[r.Name]
			cr.Robots = append(cr.Robots, r)
		}
		ph.Clusters = append(ph.Clusters, cr)
		logf("  %s: %s after %s, end state at %s, requests %d (%s), holds %s%s", c.Name, cr.Result, secs(cr.Duration), secs(cr.EndState), cr.Requests.Total, cr.Requests.verbs(),
			formatCounts(cr.Holds), map[bool]string{true: "", false: "; " + cr.Check}[cr.Check == ""])
	}
	logf("  wall %s, exit %d, peak RSS %.1f MiB, CPU %s, robots at Harbor %d → %d", ph.wall().Round(time.Millisecond), ph.ExitCode, mib(ph.MaxRSSKiB),
		secs(ph.CPU), ph.RobotsBefore, ph.RobotsAfter)
	if failed != nil {
		// Recorded, and the scenario goes on: what follows a run that never reported is
		// measured too.
		fr.rec.Failures = append(fr.rec.Failures, failed.Error())
	}
	return nil
}

// check reads what every target namespace of c holds after a phase: which credential, whether
// pullable, and how many Deployment templates changed (none may: IfNeeded, no pods).
func (fr *fleetRun) check(ctx context.Context, c *fleetCluster, cr *fleetClusterRun, before map[string]map[string]string) error {
	st, err := c.fx.served(ctx, fr.b.registry)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	cr.Holds = map[string]int{}
	var wrong []string
	for _, ns := range fr.nss {
		s := st[ns]
		id := s.CredentialID
		if !s.Secret {
			id = "(none)"
		}
		cr.Holds[id]++
		if s.pullable() {
			cr.Pullable++
		}
		switch {
		case cr.ExpectedID == "" && !cr.Down:
			wrong = append(wrong, ns+": no credential expected (none issued)")
		case !s.pullable():
			wrong = append(wrong, ns+": not pullable")
		case id != cr.ExpectedID && (cr.PendingID == "" || id != cr.PendingID):
			wrong = append(wrong, fmt.Sprintf("%s: holds %s, want %s", ns, id, cr.ExpectedID))
		}
	}
	after, err := c.fx.templates(ctx)
	if err != nil {
		return err
	}
	for k, a := range after {
		if !equalMaps(before[k], a) {
			cr.TemplatesSet++
		}
	}
	if cr.TemplatesSet > 0 {
		wrong = append(wrong, fmt.Sprintf("%d Deployment templates changed (IfNeeded with no pods restarts none)", cr.TemplatesSet))
	}
	if !cr.Down && cr.Result != "succeeded" && cr.Result != "nothing-due" && cr.Result != noReport {
		wrong = append(wrong, "result "+cr.Result)
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		cr.Check = fmt.Sprintf("%d problems: %s", len(wrong), strings.Join(firstFew(wrong), "; "))
	}
	return nil
}
