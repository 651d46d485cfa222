package rotation

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// RestartReason says why a dependent workload was or was not restarted (WorkloadResult.Reason;
// WorkloadResult.Detail says it in words).
type RestartReason string

const (
	// ReasonBound: its pods name the secret; kubelet reads the new content at their next pull.
	ReasonBound RestartReason = "bound"
	// ReasonNoPods: it runs no pod now; pods it creates get the secret at creation.
	ReasonNoPods RestartReason = "no-pods"
	// ReasonLacksSecret: some pod lacks the secret (created before its ServiceAccount was bound).
	ReasonLacksSecret RestartReason = "lacks-secret"
	// ReasonPullFailing: some pod is failing to pull an image of the registry.
	ReasonPullFailing RestartReason = "pull-failing"
	// ReasonCanary: restarted to prove the new credential with a real pull (policy Canary).
	ReasonCanary RestartReason = "canary"
	// ReasonPolicyAlways, ReasonPolicyNever: the credential's restart.policy decides.
	ReasonPolicyAlways RestartReason = "policy-always"
	ReasonPolicyNever  RestartReason = "policy-never"
	// ReasonAnnotationAlways, ReasonAnnotationNever: the workload's rotator.dev/restart decides.
	ReasonAnnotationAlways RestartReason = "annotation-always"
	ReasonAnnotationNever  RestartReason = "annotation-never"
	// ReasonNotRepaired: a repair run changed nothing in its namespace; its pods pull as before.
	ReasonNotRepaired RestartReason = "not-repaired"
	// ReasonOutsideWindow: a restart was needed but none is allowed now (restart windows).
	ReasonOutsideWindow RestartReason = "outside-window"
)

// restartDecision is decide's verdict on one dependent workload. w points into the plan's
// workloads: a run keeps a verdict for every dependent of every target (20,000 at 10,000
// namespaces), and a copy of each Workload would double what the plan holds of them.
type restartDecision struct {
	w       *restart.Workload
	restart bool
	// canary: its rollout must complete before the credential it proves is promoted.
	canary bool
	reason RestartReason
	detail string
}

// needsPods: the policy judges workloads by their pods (IfNeeded, Canary); Always and Never do not.
func needsPods(pol config.RestartPolicy) bool {
	return pol == config.RestartIfNeeded || pol == config.RestartCanary
}

// restartCandidates are the namespaces whose dependents a run may restart: every one when it
// distributes a new credential; on a repair, only those whose Secret or ServiceAccount it is
// about to change (the others already pull as they did).
func (p *plan) restartCandidates() map[string]bool {
	out := map[string]bool{}
	for _, ns := range p.namespaces {
		if p.decision != RepairOnly || p.repairs(ns) {
			out[ns] = true
		}
	}
	return out
}

// repairs: a repair run changes ns (its Secret is missing or drifted, or a ServiceAccount unbound).
func (p *plan) repairs(ns string) bool {
	if s := p.secrets[ns]; s == nil || p.state.Current == nil || !secretsync.UpToDate(s, p.state.Current.Fingerprint) {
		return true
	}
	for _, name := range p.cred.Targets.ServiceAccounts {
		if sa := p.serviceAccounts.get(ns, name); sa == nil || !secretsync.HasPullSecret(sa, p.cred.Targets.SecretName) {
			return true
		}
	}
	return false
}

// decideRestarts judges every dependent workload from the snapshot (its pods included), in
// this order: not a candidate namespace; the workload's annotation; the policy (Never, Always);
// its pods (IfNeeded, Canary); then Canary picks the smallest of those left unrestarted.
func (p *plan) decideRestarts(outsideWindow bool) {
	pol := p.cred.Restart.Policy
	candidates := p.restartCandidates()
	p.restarts = make([]restartDecision, 0, len(p.workloads))
	for i := range p.workloads {
		w := &p.workloads[i]
		d := restartDecision{w: w}
		switch {
		case !candidates[w.Namespace]:
			d.reason, d.detail = ReasonNotRepaired, "namespace not repaired by this run: its pods pull as before"
		case w.RestartOverride == restart.OverrideNever:
			d.reason, d.detail = ReasonAnnotationNever, "annotation rotator.dev/restart=never"
		case w.RestartOverride == restart.OverrideAlways:
			d.restart, d.reason, d.detail = true, ReasonAnnotationAlways, "annotation rotator.dev/restart=always"
		case pol == config.RestartNever:
			d.reason, d.detail = ReasonPolicyNever, "policy Never"
		case pol == config.RestartAlways:
			d.restart, d.reason, d.detail = true, ReasonPolicyAlways, "policy Always"
		default:
			p.judgeByPods(&d)
		}
		if w.RestartOverride != "" && w.RestartOverride != restart.OverrideNever && w.RestartOverride != restart.OverrideAlways {
			p.warnings = append(p.warnings, fmt.Sprintf("%s: annotation %s=%q is neither %q nor %q and is ignored: the policy %s applies", w, restart.AnnotationRestart, w.RestartOverride, restart.OverrideNever, restart.OverrideAlways, pol))
		}
		p.restarts = append(p.restarts, d)
	}
	if pol == config.RestartCanary && p.decision != RepairOnly {
		p.pickCanaries()
	}
	if outsideWindow {
		for i := range p.restarts {
			if d := &p.restarts[i]; d.restart {
				d.detail = "outside every restart window (would restart: " + d.detail + ")"
				d.reason = ReasonOutsideWindow
			}
		}
	}
}

// judgeByPods: IfNeeded's rule on the workload's current pods.
func (p *plan) judgeByPods(d *restartDecision) {
	need, err := restart.Assess(*d.w, p.pods[d.w.Namespace], p.cred.Targets.SecretName, func(img string) bool {
		return pullsecret.KeyMatchesImage(p.registry, img)
	})
	switch {
	case err != nil:
		// A selector the API server accepted but we cannot read: restart rather than guess.
		d.restart, d.reason, d.detail = true, ReasonLacksSecret, fmt.Sprintf("its pods could not be matched (%v), so it is restarted to be sure", err)
	case len(need.Lacking) > 0:
		d.restart, d.reason = true, ReasonLacksSecret
		d.detail = fmt.Sprintf("pods lack the secret (created before the ServiceAccount was bound): %s", names(need.Lacking))
	case len(need.Failing) > 0:
		d.restart, d.reason = true, ReasonPullFailing
		d.detail = fmt.Sprintf("pods failing to pull %s: %s", need.FailingImage, names(need.Failing))
	case need.Pods == 0:
		d.reason, d.detail = ReasonNoPods, "no current pods: pods it creates get the secret at creation"
	default:
		d.reason, d.detail = ReasonBound, "bound: pods name the secret, kubelet reads it at the next pull"
	}
}

// pickCanaries restarts the restart.canary smallest workloads (by replicas, then namespace and
// name) that run pods and would not be restarted anyway. Fewer than asked for is a problem of
// the config, reported with the fix; the ones there are still prove the credential.
func (p *plan) pickCanaries() {
	var eligible []int
	for i, d := range p.restarts {
		if !d.restart && (d.reason == ReasonBound) && d.w.Replicas > 0 {
			eligible = append(eligible, i)
		}
	}
	sort.SliceStable(eligible, func(a, b int) bool {
		x, y := p.restarts[eligible[a]].w, p.restarts[eligible[b]].w
		if x.Replicas != y.Replicas {
			return x.Replicas < y.Replicas
		}
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		return x.Kind < y.Kind
	})
	want := p.cred.Restart.CanaryCount()
	if want > len(eligible) {
		p.problems = append(p.problems, fmt.Sprintf("credentials[%s].restart.canary is %d, above the %d dependent workload(s) that can be canaries (running pods, not restarted anyway, no rotator.dev/restart=never): set it to at most %d, or use policy IfNeeded", p.cred.Name, want, len(eligible), len(eligible)))
		want = len(eligible)
	}
	for _, i := range eligible[:want] {
		d := &p.restarts[i]
		d.restart, d.canary, d.reason = true, true, ReasonCanary
		d.detail = fmt.Sprintf("canary: %d replica(s), restarted to prove the new credential with a real pull before the old one is revoked", d.w.Replicas)
	}
}

// names lists pod names, at most three and a count.
func names(pods []string) string {
	if len(pods) <= 3 {
		return strings.Join(pods, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(pods[:3], ", "), len(pods)-3)
}
