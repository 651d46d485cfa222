package rotation

import (
	"context"

	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// restartWorkloads rolls the dependent workloads whose pods may lack the credential, and waits.
func (r *Runner) restartWorkloads(ctx context.Context, p *plan, fp string, rep *Report) int {
	ws := p.restartTargets(rep)
	if p.cred.Restart.Disabled || len(ws) == 0 {
		action := "unchanged"
		if p.cred.Restart.Disabled {
			action = "skipped (restart.disabled)"
		}
		for _, w := range p.workloads {
			rep.Workloads = append(rep.Workloads, WorkloadResult{Kind: string(w.Kind), Namespace: w.Namespace, Name: w.Name, Via: w.Via, Action: action})
		}
		return 0
	}
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
	for _, res := range rs.Restart(ctx, ws, restartAnnotation(p.cred.Name), fp, !p.skipRolloutWait) {
		wr := WorkloadResult{Kind: string(res.Workload.Kind), Namespace: res.Workload.Namespace, Name: res.Workload.Name, Via: res.Workload.Via, Action: "unchanged"}
		obj := events.Workload(string(res.Workload.Kind), res.Workload.Namespace, res.Workload.Name)
		if res.Patched {
			wr.Action = "restarted"
			n++
			r.Events.Normal(ctx, obj, events.ReasonRestarted, "restarted by rotator so new pods pull with credential %s of %s", fp, p.cred.Name)
		}
		if res.Err != nil {
			wr.Action, wr.Error = "failed", res.Err.Error()
			rep.fail(Transient, "%v", res.Err)
			r.Events.Warning(ctx, obj, events.ReasonRolloutTimedOut, "rollout after the credential change of %s did not complete: %v", p.cred.Name, res.Err)
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	return n
}

// restartTargets: with a new credential, every dependent workload; on a repair run, only those
// in namespaces whose Secret or ServiceAccount this run changed (the others already pull fine).
func (p *plan) restartTargets(rep *Report) []restart.Workload {
	if p.decision != RepairOnly {
		return p.workloads
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
	var out []restart.Workload
	for _, w := range p.workloads {
		if touched[w.Namespace] {
			out = append(out, w)
		}
	}
	return out
}
