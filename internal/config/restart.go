package config

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RestartPolicy says which dependent workloads a run restarts (credentials[].restart.policy).
//
// Kubelet resolves a pod's spec.imagePullSecrets by name at every pull, so a pod that already
// names the managed secret (in its template, or copied from its ServiceAccount by admission when
// the pod was created) pulls with new content at its next pull without a restart. A restart is
// needed only for pods that lack the secret (created before their ServiceAccount was bound: the
// admission plugin copies the ServiceAccount's pull secrets only at creation) and for pods stuck
// failing to pull an image of the registry (kubelet retries them only after its back-off).
type RestartPolicy string

const (
	// RestartIfNeeded (default) restarts a workload only when some of its current pods lack the
	// secret or are failing to pull an image of the credential's registry.
	RestartIfNeeded RestartPolicy = "IfNeeded"
	// RestartCanary is IfNeeded plus the Canary smallest other dependents, whose rollouts (a real
	// kubelet pull with the new credential) must complete before the old one is revoked.
	RestartCanary RestartPolicy = "Canary"
	// RestartAlways restarts every dependent workload on a new credential, and those of repaired
	// namespaces on a repair (the behaviour before policies existed).
	RestartAlways RestartPolicy = "Always"
	// RestartNever restarts nothing.
	RestartNever RestartPolicy = "Never"
)

// RestartPolicies are the valid policy names, in the order errors list them.
var RestartPolicies = []RestartPolicy{RestartIfNeeded, RestartCanary, RestartAlways, RestartNever}

// DefaultCanary is restart.canary when unset.
const DefaultCanary = 1

func defaultRestart(r *Restart) {
	if r.Policy == "" {
		// The deprecated spelling still means what it meant. A policy set beside it is left as
		// set, so validateRestart can tell a contradiction from an alias.
		r.Policy = RestartIfNeeded
		if r.Disabled {
			r.Policy = RestartNever
		}
	}
	if r.Policy == RestartCanary && r.Canary == 0 {
		r.Canary = DefaultCanary
	}
	if r.Concurrency == 0 {
		r.Concurrency = 5
	}
	if !r.Timeout.IsSet() {
		r.Timeout = NewDuration(5 * time.Minute)
	}
}

// CanaryCount is how many canaries policy Canary restarts: Canary, or DefaultCanary when unset.
func (r Restart) CanaryCount() int {
	if r.Canary <= 0 {
		return DefaultCanary
	}
	return r.Canary
}

func validateRestart(r *Restart, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDuration(r.Timeout, p.Child("timeout"))...)
	if r.Concurrency < 0 {
		errs = append(errs, field.Invalid(p.Child("concurrency"), r.Concurrency, "must be positive"))
	}
	valid := false
	names := make([]string, len(RestartPolicies))
	for i, pol := range RestartPolicies {
		names[i] = string(pol)
		valid = valid || r.Policy == pol
	}
	if !valid {
		errs = append(errs, field.NotSupported(p.Child("policy"), r.Policy, names))
	}
	if r.Disabled && r.Policy != RestartNever {
		errs = append(errs, field.Invalid(p.Child("disabled"), true, fmt.Sprintf("contradicts policy %s: remove disabled (it is the old spelling of policy: Never)", r.Policy)))
	}
	if r.Canary < 0 {
		errs = append(errs, field.Invalid(p.Child("canary"), r.Canary, "must be at least 1: the number of workloads policy Canary restarts to prove the new credential"))
	}
	return errs
}

// Warnings are what a valid config should still change: deprecated or ignored settings, each
// with its path and the fix. `config validate` prints them; a run reports them too.
func Warnings(c *Config) []string {
	var out []string
	for i := range c.Credentials {
		out = append(out, c.Credentials[i].Restart.warnings(fmt.Sprintf("credentials[%d].restart", i))...)
	}
	return out
}

func (r *Restart) warnings(path string) []string {
	var out []string
	if r.Disabled {
		out = append(out, fmt.Sprintf("%s.disabled is deprecated: write %s.policy: Never instead", path, path))
	}
	if r.Canary != 0 && r.Policy != RestartCanary {
		out = append(out, fmt.Sprintf("%s.canary is ignored with policy %s: it applies to policy Canary only", path, r.Policy))
	}
	return out
}

// Warnings of one credential's restart settings, with paths under credentials[name].restart.
func (c *Credential) Warnings() []string {
	return c.Restart.warnings(fmt.Sprintf("credentials[%s].restart", c.Name))
}
