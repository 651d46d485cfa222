package rotation

import (
	"context"
	"slices"
	"strings"

	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// restartOutcome is what the restart phase did: how many workloads it restarted, and the canaries
// whose rollout did not complete (failed, or deferred outside every restart window), which keep
// the new credential from being promoted.
type restartOutcome struct {
	restarted int
	// failed canaries fail the run; deferred ones only wait for a run inside a window.
	failed, deferred []string
}

func (o restartOutcome) unproven() []string {
	return append(append([]string(nil), o.failed...), o.deferred...)
}

// restartWorkloads rolls the dependent workloads decideRestarts chose, waits for them, and
// reports every dependent with why it was or was not restarted. The report's entries are
// written in place, in p.restarts' order; only the workloads to roll are looked up by name, so
// a run that restarts none of its 20,000 dependents builds no index of them.
func (r *Runner) restartWorkloads(ctx context.Context, p *plan, fp string, rep *Report) restartOutcome {
	var out restartOutcome
	touched := p.touched(rep)
	var ws []restart.Workload
	rolled := map[string]rolledEntry{}
	rep.Workloads = slices.Grow(rep.Workloads, len(p.restarts))
	for _, d := range p.restarts {
		wr := WorkloadResult{Kind: string(d.w.Kind), Namespace: d.w.Namespace, Name: d.w.Name, Via: d.w.Via, Action: "unchanged", Reason: d.reason, Detail: d.detail}
		switch {
		case !d.restart:
		case d.reason == ReasonOutsideWindow:
			wr.Action = "deferred"
			if d.canary {
				out.deferred = append(out.deferred, d.w.String()+" (deferred: outside every restart window)")
			}
		case touched != nil && !touched[d.w.Namespace]:
			// A repair that could not change the namespace (its write failed) has nothing new
			// for the workload's pods.
			wr.Reason, wr.Detail = ReasonNotRepaired, "namespace not repaired by this run (its write failed): its pods pull as before"
		default:
			ws = append(ws, *d.w)
			rolled[d.w.String()] = rolledEntry{index: len(rep.Workloads), canary: d.canary}
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	if len(ws) > 0 {
		n, failed := r.roll(ctx, p, fp, ws, rolled, rep)
		out.restarted = n
		out.failed = failed
	}
	return out
}

// rolledEntry is a workload to roll: the index of its result in the report, and whether it is
// a canary.
type rolledEntry struct {
	index  int
	canary bool
}

// roll patches ws and waits for their rollouts, recording each result in rep.Workloads (where
// rolled says); it returns how many it patched and the canaries that did not roll out.
func (r *Runner) roll(ctx context.Context, p *plan, fp string, ws []restart.Workload, rolled map[string]rolledEntry, rep *Report) (int, []string) {
	start := r.Clock.Now()
	done := 0
	// restart.concurrency bounds the rollouts in progress at once; without the wait nothing is in
	// progress for long, and the patches are writes like the others.
	concurrency := p.cred.Restart.Concurrency
	if p.skipRolloutWait {
		concurrency = max(concurrency, r.Config.Kubernetes.Concurrency)
	}
	rs := &restart.Restarter{
		Client: r.Kube, Concurrency: concurrency, Timeout: p.cred.Restart.Timeout.Duration, Clock: r.Clock,
		// One pacer for the whole process: restarts per minute of all credentials together.
		Pacer: r.Pacer,
		// p.workloads were discovered by this run's plan: no GET before each patch.
		TrustSnapshot: true,
		Progress: func(res restart.Result) {
			done++
			msg := "rolled out"
			if res.Err != nil {
				msg = "failed: " + res.Err.Error()
			} else if !res.Patched {
				msg = "already rolled out for this credential"
			}
			r.progress(p.cred.Name, "restart", start, done, len(ws), "%s %s", res.Workload, msg)
			faultpoint.Hit(faultpoint.AfterRestart)
		},
	}
	n := 0
	var unproven []string
	for _, res := range rs.Restart(ctx, ws, restartAnnotation(p.cred.Name), fp, !p.skipRolloutWait) {
		key := res.Workload.String()
		e, ok := rolled[key]
		if !ok {
			continue // not one of ws
		}
		wr := &rep.Workloads[e.index]
		obj := events.Workload(string(res.Workload.Kind), res.Workload.Namespace, res.Workload.Name).WithUID(res.Workload.UID)
		if res.Patched {
			wr.Action = "restarted"
			n++
			r.Metrics.Restart(r.stateKey(p.cred.Name), string(wr.Reason))
			r.Events.Normal(ctx, obj, events.ReasonRestarted, "restarted by rotator so new pods pull with credential %s of %s (%s)", fp, p.cred.Name, wr.Detail)
		}
		if res.Err != nil {
			wr.Action, wr.Error = "failed", res.Err.Error()
			rep.fail(Transient, "%v", res.Err)
			if e.canary {
				unproven = append(unproven, key+" ("+res.Err.Error()+")")
			}
			r.Events.Warning(ctx, obj, events.ReasonRolloutTimedOut, "rollout after the credential change of %s did not complete: %v", p.cred.Name, res.Err)
		}
	}
	return n, unproven
}

// touched are the namespaces a repair run really changed (nil: not a repair, every namespace
// counts). decideRestarts chose from what the run was about to change; a write that failed
// changed nothing.
func (p *plan) touched(rep *Report) map[string]bool {
	if p.decision != RepairOnly {
		return nil
	}
	touched := map[string]bool{}
	for _, s := range rep.Secrets {
		if s.Error == "" && s.Action != string(secretsync.Unchanged) {
			touched[s.Namespace] = true
		}
	}
	for _, sa := range rep.ServiceAccounts {
		if sa.Error == "" {
			touched[sa.Namespace] = true
		}
	}
	return touched
}

// unprovenMessage explains a credential kept pending because its canaries did not roll out.
func unprovenMessage(credential string, unproven []string) string {
	return "canary rollout not complete for " + strings.Join(unproven, "; ") +
		": credential " + credential + " stays pending (its Secrets are written) and the previous one is neither retired nor revoked; the next run resumes it and waits for the canary again"
}
