package config

import "k8s.io/apimachinery/pkg/util/validation/field"

// Defaults of the restart pace, shared by every credential of a process.
const (
	// DefaultRestartsPerMinute: one restart a second. A restart's cost lands on the
	// controller-manager, the scheduler, the kubelets and the registry (every pod of the
	// workload is replaced and pulls), not on the rotator's own requests; at one a second,
	// workloads of three replicas start about three pods a second, inside
	// kube-controller-manager's default client rate (20 QPS), and 200 workloads that do need a
	// restart are done in under four minutes. Kept equal to restart.DefaultRestartsPerMinute
	// (config does not import restart).
	DefaultRestartsPerMinute = 60
	// DefaultMaxUnstickPerRun: a stuck pod serves nothing, so deleting it loses nothing, but a
	// run that misjudged "stuck" must not empty a namespace; 50 covers a broken credential in a
	// namespace of 50 replicas and costs what 50 single-pod restarts cost.
	DefaultMaxUnstickPerRun = 50
	// maxRestartsPerMinute: beyond 100 a second the cap caps nothing the client's QPS does not.
	maxRestartsPerMinute = 6000
)

// defaultPacing fills the unset pacing fields of the kubernetes section.
func defaultPacing(k *Kubernetes) {
	if k.RestartsPerMinute == 0 {
		k.RestartsPerMinute = DefaultRestartsPerMinute
	}
	if k.MaxUnstickPerRun == 0 {
		k.MaxUnstickPerRun = DefaultMaxUnstickPerRun
	}
}

// validatePacing checks the pacing fields of the kubernetes section at path p.
func validatePacing(k *Kubernetes, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if k.RestartsPerMinute < 0 || k.RestartsPerMinute > maxRestartsPerMinute {
		errs = append(errs, field.Invalid(p.Child("restartsPerMinute"), k.RestartsPerMinute,
			"must be between 1 and 6000 restarts a minute (default 60); lower it on a busy cluster, raise it to roll faster"))
	}
	if k.MaxUnstickPerRun < 0 {
		errs = append(errs, field.Invalid(p.Child("maxUnstickPerRun"), k.MaxUnstickPerRun,
			"must be at least 1 (default 50): the most pods stuck pulling that one run deletes"))
	}
	return errs
}
