package rotation

import (
	"context"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/restart"
)

// UnstuckPod is a pod that was stuck pulling an image of the credential's registry in a
// namespace this run wrote: deleted so its controller recreates it and it pulls at once with the
// Secret as it is now, or left, with the reason.
type UnstuckPod struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Owner     string `json:"owner,omitempty"`
	Image     string `json:"image"`
	Deleted   bool   `json:"deleted"`
	Skipped   string `json:"skipped,omitempty"`
	Error     string `json:"error,omitempty"`
}

// unstickPods runs after the Secrets are written and the ServiceAccounts bound (a recreated pod
// gets the ServiceAccount's pull secrets only when it is created), in the namespaces whose Secret
// now holds this credential: a repair only in those it repaired. Kubelet would retry a stuck pod
// by itself, but only after up to five minutes of back-off, and a StatefulSet's rolling update
// never replaces a pod that is not Ready. restart.policy Never leaves pods alone; a window does
// not, since a pod that cannot pull serves nothing. At most kubernetes.maxUnstickPerRun pods.
func (r *Runner) unstickPods(ctx context.Context, p *plan, rep *Report) {
	if p.cred.Restart.Policy == config.RestartNever {
		return
	}
	touched := p.touched(rep)
	budget := r.Config.Kubernetes.MaxUnstickPerRun
	rs := &restart.Restarter{Client: r.Kube, Clock: r.Clock}
	start := r.Clock.Now()
	for _, s := range rep.Secrets {
		if s.Error != "" || (touched != nil && !touched[s.Namespace]) {
			continue
		}
		found, err := rs.Unstick(ctx, s.Namespace, p.registry, budget)
		if err != nil {
			rep.warn("%v", err)
			continue
		}
		for _, u := range found {
			if u.Deleted {
				budget--
			}
			up := UnstuckPod{Namespace: u.Namespace, Pod: u.Pod, Owner: u.Owner, Image: u.Image, Deleted: u.Deleted, Skipped: u.Skipped}
			if u.Err != nil {
				up.Error = u.Err.Error()
				rep.warn("%s", u)
			}
			rep.Unstuck = append(rep.Unstuck, up)
			r.progress(p.cred.Name, "unstick", start, 0, 0, "%s", u)
		}
	}
}
