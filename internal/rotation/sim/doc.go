// Package sim is a deterministic simulation of the rotation core (issue 13, section 3).
//
// One seed is one reproducible universe: two clusters ("A" and "B", different state namespace
// UIDs, the same config and robot prefix) share one in-memory provider and one registry. A
// random schedule of steps drives it: rotator runs (Rotate with and without IfDue, RotateAll
// over both credentials, dry runs), crashes at any fake call, lost run locks (sometimes with the
// other replica running in between), provider faults (5xx, timeouts, "timed out but done"),
// credentials deleted, disabled, expired or renamed behind the rotator's back, a cluster
// partitioned from the rotator for a few runs, from the middle of one (its state and run lock
// stay reachable, as a fleet member's do: they live in the rotator's own cluster), tenants
// editing their namespaces, clock jumps and clock skew. Then a quiet phase: faults and tenants stop, the
// rotator runs at most twice, and the world must have converged.
//
// The real core (rotation.Runner) runs against these fakes:
//   - Kubernetes: k8s.io/client-go/kubernetes/fake, with reactors that do what the API server
//     does and the fake tracker does not (resourceVersions and conflicts, immutable Secrets,
//     no object in a missing namespace), behind a client wrapper that sees each call's context
//     (a call with a cancelled context fails, as with client-go) and injects crashes;
//   - the provider (Provider) and the registry (Registry): see their files;
//   - the clock: k8s.io/utils/clock/testing, advanced only by the schedule.
//
// After every step the invariants (invariants.go) are checked; a violation names the seed,
// the step and the trace:
//
//  1. NoTargetLosesPull: a run never takes a working pull secret from an existing target (bar
//     one its tenant made immutable, replaced by a run that died between delete and create);
//  2. NoRevokeWhileHeld: no live credential is revoked while a target's managed secret holds it;
//  3. NoCrossClusterRevoke: a cluster never revokes what the other cluster issued;
//  4. NoLeakAtQuiescence: after the quiet phase, per credential and cluster, at most current +
//     pending + retired credentials are live, and each is known to the state or held by a secret;
//  5. ConvergesAfterFaults: within two quiet runs every existing target (bar one where a tenant
//     put a Secret of its own) holds a managed secret that pulls;
//  6. NoWriteAfterLockLost: a run that lost its lock writes nothing more;
//  7. DryRunWritesNothing; and CorePanics, for a panic of the core.
//
// Nothing in the harness depends on map order or goroutine order: the config's
// kubernetes.concurrency and restart.concurrency are 1, keys are iterated sorted, and every
// random choice (the core's credential names too, through Runner.Entropy) comes from PCG
// sources seeded by the seed.
//
// Run and replay:
//
//	go test ./internal/rotation/sim/                    # 2,000 seeds; prints seeds, steps, seeds/s
//	go test ./internal/rotation/sim/ -sim.seeds=20000   # more
//	go test ./internal/rotation/sim/ -run 'TestSimulation$' -sim.seed=N   # one seed, every call traced
//
// A failing run prints, per invariant, the failing seeds with the replay command of each.
package sim
