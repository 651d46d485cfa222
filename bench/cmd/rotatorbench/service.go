package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/state"
)

// The service scenario (-scenario service): `rotator run` with -service-n target namespaces
// present; -service-new namespaces created at once, each timed to a pullable secret; an idle
// window whose API requests are counted; the fixture grown to -service-rss-n namespaces under
// the running service for its peak RSS; optionally a fresh service rotating at that size.

const (
	// stateNamespace and credentialName are the rotator config's (runner.rotatorConfig).
	stateNamespace = "rotator-system"
	credentialName = "bench"
	// leaderLease is the Lease the service's replicas elect their leader on (service.LeaderLease).
	leaderLease = "rotator-leader"
	// adminUser is the sandbox's cluster-admin as the audit log names it: the fixture's creates.
	adminUser = "admin"
)

// unstickChain is how long after a namespace repair the controller still checks its pods
// (controller.Controller.UnstickAfter's defaults, 3s + 10s + 30s + 90s, each a list of the
// namespace's pods): the idle window starts after it, since those lists are the repair's.
const unstickChain = 133 * time.Second

// serviceOptions are the service scenario's flags.
type serviceOptions struct {
	n, burst, rssN int
	idle, settle   time.Duration
	reconcile      time.Duration
	rotateAtScale  bool
	// freshRotators are more rotator binaries whose fresh run at scale is measured after the
	// built one's, each on the same fixture with the state deleted again (-service-fresh-rotators).
	freshRotators []string
	// qps and workers are the fixture builder's (the admin's) client rate limit and concurrency.
	qps     float64
	workers int
	timeout time.Duration
}

// servicePhase is one step of the scenario, with the service's requests, memory and CPU in it
// and the load on the machine.
type servicePhase struct {
	Name       string
	Start, End time.Time
	// Namespaces that were targets during the phase (at its end).
	Namespaces int
	// Requests are the rotator identity's requests received in the phase (a watch counted once,
	// when it opened), from the audit log.
	Requests requestStats
	// HWMKiB is the rotator's VmHWM at the end of the phase (its peak since its start);
	// MaxRSSKiB the largest VmRSS sampled in the phase (every 0.5 s). 0 when no service ran.
	HWMKiB, MaxRSSKiB int64
	// RotatorCPU is the rotator's CPU time in the phase.
	RotatorCPU time.Duration
	Load       machineLoad
	// Note says what the phase waited for.
	Note string
}

func (p servicePhase) wall() time.Duration { return p.End.Sub(p.Start) }

// reaction is one new namespace's time to a pullable secret.
type reaction struct {
	Namespace string
	// Created is when the API server received the namespace's create (audit log).
	Created time.Time
	// SecretAt and BoundAt are when the API server answered the rotator's first successful write
	// of the Secret and of ServiceAccount default (zero: not seen).
	SecretAt, BoundAt time.Time
	// Served: both were seen, and the end state checked by the API afterwards.
	Served bool
}

func (r reaction) secret() time.Duration { return since0(r.Created, r.SecretAt) }
func (r reaction) bound() time.Duration  { return since0(r.Created, r.BoundAt) }

// pullable is the later of the two: from then on a new pod of the namespace gets the secret.
func (r reaction) pullable() time.Duration { return max(r.secret(), r.bound()) }

func since0(from, to time.Time) time.Duration {
	if from.IsZero() || to.IsZero() {
		return 0
	}
	return to.Sub(from)
}

// idleRequest is one request of the idle window that is neither a watch nor a renewal of the
// leader lease: what the verdict would have to explain.
type idleRequest struct {
	At        time.Time
	Verb      string
	Resource  string
	Namespace string
	Name      string
	URI       string
	Code      int
}

// runService is the service scenario.
func (b *bench) runService(ctx context.Context) error {
	so := b.opts.service
	if err := b.startRig(ctx); err != nil {
		return err
	}
	fast := rest.CopyConfig(b.rig.AdminConfig)
	fast.QPS, fast.Burst = float32(so.qps), 2*int(so.qps)
	admin, err := kubernetes.NewForConfig(fast)
	if err != nil {
		return err
	}
	b.fx = &fixture{admin: admin, image: b.rig.Images["proj-a"], replicas: 0, workers: so.workers}
	if b.config, err = b.r.rotatorConfig("rotator-service.yaml", b.rig.HarborURL, b.rig.HarborUsername, 0, 0, 0, ""); err != nil {
		return err
	}
	sv := &serviceRun{b: b, so: so}
	b.svc = &sv.rec
	sv.rec.Resync = time.Hour // rotator run's default, not changed here
	defer sv.killAll()
	return sv.run(ctx)
}

// serviceRun is one run of the scenario.
type serviceRun struct {
	b     *bench
	so    serviceOptions
	rec   serviceRecord
	procs []*serviceProc
	// phase bookkeeping
	mark  auditMark
	snap  machineSnapshot
	start time.Time
	cpu0  time.Duration
}

func (sv *serviceRun) killAll() {
	for _, p := range sv.procs {
		select {
		case <-p.done:
		default:
			p.kill()
		}
	}
}

// begin marks the start of a phase.
func (sv *serviceRun) begin(svc *serviceProc) error {
	m, err := sv.b.r.audit.mark()
	if err != nil {
		return err
	}
	sv.mark, sv.snap, sv.start = m, snapshotMachine(), time.Now()
	if svc != nil {
		sv.cpu0 = svc.cpu()
		svc.memory() // reset the phase's largest sample
	}
	return nil
}

// end closes the phase begun last and records it.
func (sv *serviceRun) end(name string, svc *serviceProc, namespaces int, note string) (servicePhase, error) {
	end := time.Now()
	ph := servicePhase{Name: name, Start: sv.start, End: end, Namespaces: namespaces, Note: note,
		Load: loadBetween(sv.snap, snapshotMachine())}
	if svc != nil {
		ph.HWMKiB, ph.MaxRSSKiB = svc.memory()
		ph.RotatorCPU = svc.cpu() - sv.cpu0
	}
	// Requests received before the end and answered just after it are still to be logged.
	time.Sleep(2 * time.Second)
	evs, err := sv.b.r.audit.sinceAnyStage(sv.mark, sv.b.r.rotatorUser)
	if err != nil {
		return ph, err
	}
	ph.Requests = summarise(receivedBetween(evs, ph.Start, ph.End))
	sv.rec.Phases = append(sv.rec.Phases, ph)
	logf("  %s: %s, rotator requests %d (%s), VmHWM %.1f MiB, load %s", name, ph.wall().Round(100*time.Millisecond),
		ph.Requests.Total, ph.Requests.detail(), mib(ph.HWMKiB), ph.Load.LoadEnd)
	return ph, nil
}

func (sv *serviceRun) run(ctx context.Context) error {
	b, so := sv.b, sv.so
	sv.rec.Registry = b.registry
	initial := nsNames(0, so.n)
	burst := nsNames(so.n, so.n+so.burst)
	all := nsNames(0, max(so.rssN, so.n+so.burst))

	// 1. The fixture: -service-n namespaces, the controller manager caught up.
	if err := sv.begin(nil); err != nil {
		return err
	}
	logf("create %d namespaces, each with ServiceAccount %s and Deployments %s, %s (replicas 0)", so.n, serviceAccount, depDirect, depViaSA)
	if err := b.fx.ensure(ctx, initial); err != nil {
		return err
	}
	d, err := b.fx.quiesce(ctx)
	if err != nil {
		return err
	}
	if _, err := sv.end("fixture", nil, so.n, fmt.Sprintf("created, then the controller manager caught up in %s", d.Round(time.Second))); err != nil {
		return err
	}

	// 2. The service starts: its first step is a full run that issues the credential and writes
	// every namespace; the controller's caches sync beside it.
	if err := sv.begin(nil); err != nil {
		return err
	}
	logf("start rotator run over %d namespaces", so.n)
	svc, err := b.r.startService("service", b.config, "--no-jitter", "--reconcile", so.reconcile.String())
	if err != nil {
		return err
	}
	sv.procs = append(sv.procs, svc)
	result, err := svc.waitRunDone(ctx, 0, so.timeout)
	if err != nil {
		return err
	}
	if err := sv.waitServed(ctx, svc, initial, "", so.timeout); err != nil {
		return err
	}
	if _, err := sv.end("start", svc, so.n, "from the process start to its first run done ("+result+") and every namespace pullable"); err != nil {
		return err
	}
	time.Sleep(5 * time.Second) // the controller's reconciles of the new state (no request)

	// 3. -service-new namespaces at once, each timed to a pullable secret.
	if err := sv.burst(ctx, svc, burst); err != nil {
		return err
	}

	// 4. The repairs' follow-up checks of pods run out, then the idle window.
	if err := sv.begin(svc); err != nil {
		return err
	}
	settle := max(so.settle, time.Until(sv.lastRepair().Add(unstickChain+10*time.Second)))
	logf("settle %s (the controller's follow-up pod checks after a repair end %s after it)", settle.Round(time.Second), unstickChain)
	if err := sleepCtx(ctx, settle); err != nil {
		return err
	}
	if err := svc.alive(); err != nil {
		return err
	}
	if _, err := sv.end("settle", svc, so.n+so.burst, "the follow-up pod checks of the burst's repairs"); err != nil {
		return err
	}
	if err := sv.idle(ctx, svc, so.n+so.burst); err != nil {
		return err
	}

	// 5. Grow to -service-rss-n namespaces with the service running.
	if so.rssN > so.n+so.burst {
		if err := sv.begin(svc); err != nil {
			return err
		}
		grow := nsNames(so.n+so.burst, so.rssN)
		logf("grow to %d namespaces (%d new) with the service running", so.rssN, len(grow))
		if err := b.fx.ensure(ctx, grow); err != nil {
			return err
		}
		created := time.Since(sv.start)
		if err := sv.waitServed(ctx, svc, all, "", so.timeout); err != nil {
			return err
		}
		if _, err := sv.end("grow", svc, so.rssN, fmt.Sprintf("%d namespaces created in %s, then every one of the %d pullable", len(grow), created.Round(time.Second), len(all))); err != nil {
			return err
		}
	}
	exit, err := svc.stop()
	sv.rec.Service = exit
	if err != nil {
		return err
	}
	logf("  service stopped: wait4 max RSS %.1f MiB, last VmHWM %.1f MiB, CPU %s", mib(exit.MaxRSSKiB), mib(exit.HWMKiB), exit.CPU.Round(time.Second))

	// 6. A fresh service at that size, with no state: it issues a credential and writes every
	// namespace (a first install, or a scheduled rotation there), its caches syncing beside it.
	if so.rotateAtScale {
		exit, err := sv.rotateAtScale(ctx, all, "rotate-at-scale", "service-fresh", b.r.rotatorBin)
		if exit != nil {
			sv.rec.Fresh = exit
		}
		if err != nil {
			return err
		}
		for i, bin := range so.freshRotators {
			exit, err := sv.rotateAtScale(ctx, all, "rotate-at-scale "+bin, fmt.Sprintf("service-fresh-%d", i+1), bin)
			if exit != nil {
				sv.rec.FreshOthers = append(sv.rec.FreshOthers, freshOther{Rotator: bin, Exit: *exit})
			}
			if err != nil {
				return err
			}
		}
	}

	// Nothing restarted any workload (IfNeeded, no pods), and every namespace is served.
	before := map[string]map[string]string{}
	for _, ns := range all {
		for _, dep := range []string{depDirect, depViaSA} {
			before[ns+"/"+dep] = sandbox.Deployment(ns, dep, b.fx.image, "", 0).Spec.Template.Annotations
		}
	}
	if err := b.fx.checkEndState(ctx, all, b.registry, before, func(string) bool { return false }); err != nil {
		return fmt.Errorf("the end state at %d namespaces: %w", len(all), err)
	}
	return nil
}

// burst creates the new namespaces at once (namespace, ServiceAccount, two Deployments each,
// one worker per namespace) and times each one from its creation to a pullable secret, from the
// audit log: the API server's time of receiving the namespace create, and of answering the
// rotator's writes of the Secret and the ServiceAccount.
func (sv *serviceRun) burst(ctx context.Context, svc *serviceProc, nss []string) error {
	b, so := sv.b, sv.so
	if err := sv.begin(svc); err != nil {
		return err
	}
	logf("create %d namespaces at once", len(nss))
	fx := *b.fx
	fx.workers = len(nss)
	if err := fx.ensure(ctx, nss); err != nil {
		return err
	}
	created := time.Since(sv.start)
	want := map[string]*reaction{}
	for _, ns := range nss {
		want[ns] = &reaction{Namespace: ns}
	}
	deadline := time.Now().Add(so.timeout)
	for {
		admin, err := b.r.audit.since(sv.mark, adminUser)
		if err != nil {
			return err
		}
		rot, err := b.r.audit.since(sv.mark, b.r.rotatorUser)
		if err != nil {
			return err
		}
		pending := timeReactions(want, admin, rot)
		if pending == 0 {
			break
		}
		if err := svc.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			logf("  %d of %d namespaces not pullable after %s: recorded as not served", pending, len(nss), so.timeout)
			break
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
	}
	// What the audit log says is checked against the objects.
	st, err := b.fx.served(ctx, b.registry)
	if err != nil {
		return err
	}
	for _, ns := range nss {
		r := want[ns]
		r.Served = !r.SecretAt.IsZero() && !r.BoundAt.IsZero() && st[ns].pullable()
		sv.rec.Reactions = append(sv.rec.Reactions, *r)
	}
	sort.Slice(sv.rec.Reactions, func(i, j int) bool { return sv.rec.Reactions[i].Namespace < sv.rec.Reactions[j].Namespace })
	sv.rec.BurstCreated = created
	ph, err := sv.end("burst", svc, so.n+len(nss), fmt.Sprintf("%d namespaces created (with ServiceAccount and 2 Deployments each) in %s, %d workers", len(nss), created.Round(time.Millisecond), len(nss)))
	if err != nil {
		return err
	}
	rs := reactionStats(sv.rec.Reactions)
	logf("  time to a pullable secret: p50 %s, p99 %s, max %s (%d of %d served); load %s", rs.P50, rs.P99, rs.Max, rs.Served, rs.N, ph.Load.LoadEnd)
	return nil
}

// timeReactions fills want from the audit events of the admin (namespace creates) and the
// rotator (writes of the Secret and ServiceAccount) and returns how many are not pullable yet.
func timeReactions(want map[string]*reaction, admin, rotator []auditEvent) int {
	for _, e := range admin {
		if e.Verb != "create" || e.resource() != "namespaces" || e.ResponseStatus.Code >= 300 || e.ObjectRef == nil {
			continue
		}
		if r, ok := want[e.ObjectRef.Name]; ok && r.Created.IsZero() {
			r.Created = e.RequestReceived
		}
	}
	for _, e := range rotator {
		if !e.isWrite() || e.ObjectRef == nil || e.ObjectRef.Subresource != "" || e.ResponseStatus.Code >= 300 {
			continue
		}
		r, ok := want[e.ObjectRef.Namespace]
		if !ok {
			continue
		}
		switch {
		case e.ObjectRef.Resource == "secrets" && e.ObjectRef.Name == secretName && e.Verb != "delete":
			if r.SecretAt.IsZero() || e.StageTimestamp.Before(r.SecretAt) {
				r.SecretAt = e.StageTimestamp
			}
		case e.ObjectRef.Resource == "serviceaccounts" && e.ObjectRef.Name == serviceAccount:
			if r.BoundAt.IsZero() || e.StageTimestamp.Before(r.BoundAt) {
				r.BoundAt = e.StageTimestamp
			}
		}
	}
	pending := 0
	for _, r := range want {
		if r.Created.IsZero() || r.SecretAt.IsZero() || r.BoundAt.IsZero() {
			pending++
		}
	}
	return pending
}

// lastRepair is the latest write the burst's reactions saw (now if none).
func (sv *serviceRun) lastRepair() time.Time {
	if t := lastWrite(sv.rec.Reactions); !t.IsZero() {
		return t
	}
	return time.Now()
}

// idle leaves the service alone for -service-idle and records every request it sends.
func (sv *serviceRun) idle(ctx context.Context, svc *serviceProc, namespaces int) error {
	so := sv.so
	if err := sv.begin(svc); err != nil {
		return err
	}
	logf("idle for %s", so.idle)
	if err := sleepCtx(ctx, so.idle); err != nil {
		return err
	}
	if err := svc.alive(); err != nil {
		return err
	}
	ph, err := sv.end("idle", svc, namespaces, "nothing changed in the cluster; the service left alone")
	if err != nil {
		return err
	}
	evs, err := sv.b.r.audit.sinceAnyStage(sv.mark, sv.b.r.rotatorUser)
	if err != nil {
		return err
	}
	sv.rec.Idle = classifyIdle(receivedBetween(evs, ph.Start, ph.End))
	sv.rec.IdleLog = svc.messagesBetween(ph.Start, ph.End)
	logf("  idle: %d lists, %d watches, %d leader-lease renewals (get %d, update %d), %d other", sv.rec.Idle.Lists, sv.rec.Idle.Watches,
		sv.rec.Idle.LeaseGets+sv.rec.Idle.LeaseUpdates, sv.rec.Idle.LeaseGets, sv.rec.Idle.LeaseUpdates, len(sv.rec.Idle.Other))
	return nil
}

// idleStats sorts the idle window's requests into what the target allows (watches, renewals of
// the leader lease) and the rest.
type idleStats struct {
	Total, Lists, Watches     int
	LeaseGets, LeaseUpdates   int
	ByVerbResource            map[string]int
	Other                     []idleRequest
	WatchesByResource         map[string]int
	ListsByResource           map[string]int
	FirstRequest, LastRequest time.Time
}

func classifyIdle(evs []auditEvent) idleStats {
	s := idleStats{ByVerbResource: summarise(evs).ByVerbResource, WatchesByResource: map[string]int{}, ListsByResource: map[string]int{}}
	for _, e := range evs {
		s.Total++
		res := e.resource()
		name := ""
		if e.ObjectRef != nil {
			name = e.ObjectRef.Name
		}
		switch {
		case e.Verb == "watch":
			s.Watches++
			s.WatchesByResource[res]++
			continue
		case res == "leases" && name == leaderLease && e.Verb == "get":
			s.LeaseGets++
			continue
		case res == "leases" && name == leaderLease && e.Verb == "update":
			s.LeaseUpdates++
			continue
		case e.Verb == "list":
			s.Lists++
			s.ListsByResource[res]++
		}
		r := idleRequest{At: e.RequestReceived, Verb: e.Verb, Resource: res, Name: name, URI: e.RequestURI, Code: e.ResponseStatus.Code}
		if e.ObjectRef != nil {
			r.Namespace = e.ObjectRef.Namespace
		}
		s.Other = append(s.Other, r)
	}
	return s
}

// waitServed polls (every few seconds, by two paged lists) until every namespace of nss holds a
// pullable secret, of credential id when id is set.
func (sv *serviceRun) waitServed(ctx context.Context, svc *serviceProc, nss []string, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	every := 2 * time.Second
	if len(nss) > 2000 {
		every = 10 * time.Second
	}
	for {
		st, err := sv.b.fx.served(ctx, sv.b.registry)
		if err != nil {
			return err
		}
		var missing []string
		for _, ns := range nss {
			if s := st[ns]; !s.pullable() || (id != "" && s.CredentialID != id) {
				missing = append(missing, ns)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if err := svc.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d namespaces not pullable after %s: %v", len(missing), len(nss), timeout, firstFew(missing))
		}
		if err := sleepCtx(ctx, every); err != nil {
			return err
		}
	}
}

// rotateAtScale deletes the credential's state and starts a fresh service of binary bin over
// every namespace (phase name, logs and profiles under proc): its first run issues a new
// credential and writes it everywhere. The exit is nil if the service did not get to stop.
func (sv *serviceRun) rotateAtScale(ctx context.Context, all []string, name, proc, bin string) (*serviceExit, error) {
	b, so := sv.b, sv.so
	old, err := sv.currentID(ctx)
	if err != nil {
		return nil, err
	}
	err = b.rig.Admin.CoreV1().Secrets(stateNamespace).Delete(ctx, state.SecretName(credentialName), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("delete the state secret: %w", err)
	}
	if err := sv.begin(nil); err != nil {
		return nil, err
	}
	logf("fresh rotator run (%s) at %d namespaces, state deleted: it issues and writes a new credential everywhere", bin, len(all))
	r := b.r
	r.rotatorBin = bin
	svc, err := r.startService(proc, b.config, "--no-jitter", "--reconcile", so.reconcile.String())
	if err != nil {
		return nil, err
	}
	sv.procs = append(sv.procs, svc)
	result, err := svc.waitRunDone(ctx, 0, so.timeout)
	if err != nil {
		return nil, err
	}
	id, err := sv.currentID(ctx)
	if err != nil {
		return nil, err
	}
	if id == "" || id == old {
		return nil, fmt.Errorf("fresh service: run %s, but the state holds no new credential", result)
	}
	if err := sv.waitServed(ctx, svc, all, id, so.timeout); err != nil {
		return nil, err
	}
	if _, err := sv.end(name, svc, len(all), "a fresh process, state deleted: from its start to its first run done ("+result+") and every namespace holding the new credential"); err != nil {
		return nil, err
	}
	exit, err := svc.stop()
	logf("  fresh service stopped: wait4 max RSS %.1f MiB, last VmHWM %.1f MiB, CPU %s", mib(exit.MaxRSSKiB), mib(exit.HWMKiB), exit.CPU.Round(time.Second))
	return &exit, err
}

// currentID is the id of the credential's current credential in its state ("" if none).
func (sv *serviceRun) currentID(ctx context.Context) (string, error) {
	sec, err := sv.b.rig.Admin.CoreV1().Secrets(stateNamespace).Get(ctx, state.SecretName(credentialName), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	st, err := state.Decode(sec)
	if err != nil {
		return "", err
	}
	if st.Current == nil || st.Pending != nil {
		return "", nil
	}
	return st.Current.ID, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reactionSummary is the distribution of the burst's times to a pullable secret.
type reactionSummary struct {
	N, Served                    int
	P50, P90, P99, Max           time.Duration
	SecretP50, SecretP99         time.Duration
	BoundP50, BoundP99           time.Duration
	Unserved                     []string
	FirstCreated, LastCreated    time.Time
	CreateSpread, LastPullableAt time.Duration
}

// reactionStats computes percentiles by nearest rank over the namespaces served (p99 of 50 is
// the largest); Unserved lists the others, which fail the verdict whatever the percentiles say.
func reactionStats(rs []reaction) reactionSummary {
	s := reactionSummary{N: len(rs)}
	var pull, sec, bound []time.Duration
	for _, r := range rs {
		if s.FirstCreated.IsZero() || (!r.Created.IsZero() && r.Created.Before(s.FirstCreated)) {
			s.FirstCreated = r.Created
		}
		if r.Created.After(s.LastCreated) {
			s.LastCreated = r.Created
		}
		if !r.Served {
			s.Unserved = append(s.Unserved, r.Namespace)
			continue
		}
		s.Served++
		pull, sec, bound = append(pull, r.pullable()), append(sec, r.secret()), append(bound, r.bound())
		if t := r.pullable() + r.Created.Sub(s.FirstCreated); t > s.LastPullableAt {
			s.LastPullableAt = t
		}
	}
	s.CreateSpread = s.LastCreated.Sub(s.FirstCreated)
	s.P50, s.P90, s.P99, s.Max = percentile(pull, 0.50), percentile(pull, 0.90), percentile(pull, 0.99), percentile(pull, 1)
	s.SecretP50, s.SecretP99 = percentile(sec, 0.50), percentile(sec, 0.99)
	s.BoundP50, s.BoundP99 = percentile(bound, 0.50), percentile(bound, 0.99)
	return s
}

// percentile by nearest rank: the smallest value with at least p of the values at or below it.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p*float64(len(s)) - 1e-9))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// parseScenario checks -scenario.
func parseScenario(s string) (string, error) {
	switch strings.TrimSpace(s) {
	case "", "compare":
		return "compare", nil
	case "service":
		return "service", nil
	}
	return "", fmt.Errorf("-scenario %q: want compare or service", s)
}
