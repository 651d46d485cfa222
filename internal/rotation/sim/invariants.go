package sim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rotatorhq/rotator/internal/secretsync"
)

// Violation is one broken invariant, at one step of one seed.
type Violation struct {
	Invariant string
	Step      int
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("step %d: %s: %s", v.Step, v.Invariant, v.Detail)
}

// pullSnapshot records, per credential and namespace of one cluster, whether its managed secret
// pulls, and whether its tenant made it immutable: taken before a run, compared after it.
type pullSnapshot map[string]map[string]pullBefore

type pullBefore struct{ pulls, immutable bool }

func (c *Cluster) snapshot() pullSnapshot {
	snap := pullSnapshot{}
	v := c.view()
	for _, s := range credSpecs {
		snap[s.name] = map[string]pullBefore{}
		for _, ns := range v.targets(credential(c.w.cfg, s.name)) {
			snap[s.name][ns] = pullBefore{pulls: v.pulls(ns, s.name), immutable: v.immutable(ns, s.name)}
		}
	}
	return snap
}

// invNoTargetLosesPull (invariant 1): a rotator run never takes a working pull secret away. Every
// existing target namespace whose managed secret pulled before the run (tenants do not act
// during a run) still has a managed secret that pulls after it, if it still is a target.
// One exception, confined to the tenant's own namespace: a managed secret its tenant made
// immutable is replaced (deleted, then created), and a run that dies or loses its lock between
// the two leaves that namespace without a secret until a later run (invariant 5 proves one
// restores it). Holding the old credential back for every namespace instead would let one
// tenant keep alive a credential all the others have dropped.
func invNoTargetLosesPull(c *Cluster, before pullSnapshot, r *run) []Violation {
	var out []Violation
	v := c.view()
	interrupted := r.dead || r.lost
	for _, s := range credSpecs {
		now := v.targets(credential(c.w.cfg, s.name))
		var lost []string
		for _, ns := range sortedKeys(before[s.name]) {
			b := before[s.name][ns]
			replacedWhenInterrupted := b.immutable && interrupted
			if b.pulls && contains(now, ns) && !v.pulls(ns, s.name) && !replacedWhenInterrupted {
				lost = append(lost, ns+" ("+v.describe(ns, s.name)+")")
			}
		}
		if len(lost) > 0 {
			out = append(out, Violation{Invariant: "NoTargetLosesPull", Detail: fmt.Sprintf(
				"cluster %s, credential %s: pulled before the run and no longer: %s", c.Name, s.name, strings.Join(lost, "; "))})
		}
	}
	return out
}

// invNoRevokeWhileHeld (invariant 2): a credential is never revoked while an existing target
// namespace's managed Secret of the revoking cluster holds it (annotation
// rotator.dev/credential-id) and pulls with it. One that pulls for none of its holders may go:
// expired, disabled, or renamed at the provider (the holders' username no longer logs in).
// Checked at the Revoke call, before it takes effect.
func invNoRevokeWhileHeld(r *run, b *Robot) []Violation {
	c := r.cluster
	if !b.live(c.w.clock.Now()) {
		return nil
	}
	var holders []string
	v := c.view()
	for _, s := range credSpecs {
		for _, ns := range v.targets(credential(c.w.cfg, s.name)) {
			if sec := v.managedSecret(ns, s.name); sec != nil && sec.Annotations[secretsync.AnnotationCredentialID] == fmt.Sprint(b.ID) && v.pulls(ns, s.name) {
				holders = append(holders, ns+"/"+sec.Name)
			}
		}
	}
	if len(holders) == 0 {
		return nil
	}
	return []Violation{{Invariant: "NoRevokeWhileHeld", Detail: fmt.Sprintf(
		"cluster %s run %d revoked %s while %s still hold(s) it and pull(s) with it", c.Name, r.id, b, strings.Join(holders, ", "))}}
}

// invNoCrossClusterRevoke (invariant 3): a cluster never revokes a credential another cluster
// issued, although both share the provider, the config and the name prefix. Checked at the
// Revoke call.
func invNoCrossClusterRevoke(r *run, b *Robot) []Violation {
	if b.Issuer == r.cluster.Name {
		return nil
	}
	return []Violation{{Invariant: "NoCrossClusterRevoke", Detail: fmt.Sprintf(
		"cluster %s run %d revoked %s", r.cluster.Name, r.id, b)}}
}

// invNoLeakAtQuiescence (invariant 4): once the quiet phase is over, per credential and cluster at
// most current + pending + retired credentials are live at the provider, and none leaks: each
// live credential a cluster issued is known to its state or held by one of its Secrets.
func invNoLeakAtQuiescence(w *World) []Violation {
	var out []Violation
	live := w.provider.liveRobots()
	for _, c := range w.clusters {
		held := map[string]bool{}
		for _, s := range c.secrets() {
			if id := s.Annotations[secretsync.AnnotationCredentialID]; id != "" {
				held[id] = true
			}
		}
		for _, s := range credSpecs {
			st, err := c.loadState(s.name)
			if err != nil {
				out = append(out, Violation{Invariant: "NoLeakAtQuiescence", Detail: fmt.Sprintf("cluster %s: state of %s unreadable: %v", c.Name, s.name, err)})
				continue
			}
			known := len(st.Retired)
			if st.Current != nil {
				known++
			}
			if st.Pending != nil {
				known++
			}
			var mine []string
			for _, b := range live {
				if b.Issuer != c.Name || b.Credential != s.name {
					continue
				}
				mine = append(mine, fmt.Sprint(b.ID))
				if id := fmt.Sprint(b.ID); !st.Known(id) && !held[id] {
					out = append(out, Violation{Invariant: "NoLeakAtQuiescence", Detail: fmt.Sprintf(
						"cluster %s leaked %s: live, unknown to its state and held by none of its secrets", c.Name, b)})
				}
			}
			if len(mine) > known {
				out = append(out, Violation{Invariant: "NoLeakAtQuiescence", Detail: fmt.Sprintf(
					"cluster %s, credential %s: %d live credentials (ids %s) but its state knows %d (current + pending + retired)",
					c.Name, s.name, len(mine), strings.Join(mine, ","), known)})
			}
		}
	}
	return out
}

// invConverged (invariant 5): after faults and tenants stop, within two runs every existing
// target namespace of every cluster holds a managed Secret that pulls. A namespace where a tenant
// put a same-named Secret not marked managed is exempt: the core reports it and must not touch
// it. One its tenant made immutable is not: the core replaces it.
func invConverged(w *World, runs int) []Violation {
	var out []Violation
	for _, c := range w.clusters {
		v := c.view()
		for _, s := range credSpecs {
			var bad []string
			for _, ns := range v.targets(credential(w.cfg, s.name)) {
				if !v.pulls(ns, s.name) && !v.foreign(ns, s.name) {
					bad = append(bad, ns+" ("+v.describe(ns, s.name)+")")
				}
			}
			if len(bad) > 0 {
				skew := ""
				if c.skew != 0 {
					skew = fmt.Sprintf(" [cluster %s's clock is %v off the provider's]", c.Name, c.skew)
				}
				out = append(out, Violation{Invariant: "ConvergesAfterFaults", Detail: fmt.Sprintf(
					"cluster %s, credential %s: after %d quiet runs no pulling managed secret in %s%s", c.Name, s.name, runs, strings.Join(bad, "; "), skew)})
			}
		}
	}
	return out
}

// invNoWriteAfterLockLost (invariant 6): a run that has lost its run lock stops before its next
// write; no write of it (Kubernetes or provider) takes effect after the loss. One write is
// allowed: revoking a credential the run itself issued and never recorded (run.cleansOwn).
func invNoWriteAfterLockLost(r *run, what string) Violation {
	return Violation{Invariant: "NoWriteAfterLockLost", Detail: fmt.Sprintf("cluster %s run %d wrote after losing its lock: %s", r.cluster.Name, r.id, what)}
}

// invDryRunWritesNothing (invariant 7): a dry run writes nothing, in the cluster or at the
// provider.
func invDryRunWritesNothing(r *run, what string) Violation {
	return Violation{Invariant: "DryRunWritesNothing", Detail: fmt.Sprintf("cluster %s run %d (dry run) wrote: %s", r.cluster.Name, r.id, what)}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
