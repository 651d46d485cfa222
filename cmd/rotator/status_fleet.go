package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/service"
	"github.com/rotatorhq/rotator/internal/state"
)

// statusClusters are the runs of status with --config: every configured credential grouped by
// the clusters it targets, the rotator's own first, then the config's order; only one with
// --cluster (a name the config does not know is an error naming those it does).
func statusClusters(cfg *config.Config, only string) ([]clusterRun, error) {
	if only != "" && only != config.LocalCluster && cfg.Cluster(only) == nil {
		return nil, fmt.Errorf("unknown cluster %q: the config's clusters are local%s", only, clusterNames(cfg))
	}
	creds := make([]*config.Credential, len(cfg.Credentials))
	for i := range cfg.Credentials {
		creds[i] = &cfg.Credentials[i]
	}
	runs := planClusters(cfg, creds, only)
	if len(runs) == 0 {
		return nil, fmt.Errorf("no credential targets cluster %q (clusters: local%s)", only, clusterNames(cfg))
	}
	return runs, nil
}

// connectStatus gives each run the runner of its cluster: the rotator's own, or a member's,
// reached once, all at once (a slow member delays no other). A member that cannot be reached
// keeps its error in err: its rows still show the state, which lives in the rotator's cluster.
func connectStatus(ctx context.Context, a *app, cfg *config.Config, runs []clusterRun) {
	installation, installErr := fleetInstallation(ctx, a, cfg, runs)
	var wg sync.WaitGroup
	for i := range runs {
		run := &runs[i]
		if run.cluster == config.LocalCluster {
			run.runner = a.runner
			continue
		}
		if installErr != nil {
			run.err = fmt.Errorf("cluster %s: %w", run.cluster, installErr)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := memberRestConfig(ctx, a, cfg, cfg.Cluster(run.cluster))
			if err != nil {
				run.err = err
				return
			}
			r, _, err := memberRunnerFrom(a, cfg, run.cluster, installation, rc)
			if err == nil {
				err = reachMember(r.Kube, run.cluster, rc.Host)
			}
			run.runner, run.err = r, err
		}()
	}
	wg.Wait()
}

// planFunc is what `rotate now --if-due` would do for cred in run's cluster, as a dry run.
type planFunc func(ctx context.Context, run *clusterRun, cred *config.Credential) *rotation.Report

func dryRunPlan(ctx context.Context, run *clusterRun, cred *config.Credential) *rotation.Report {
	return run.runner.Rotate(ctx, cred, rotation.Options{IfDue: true, DryRun: true})
}

// fleetRows makes one row per (credential, cluster) of runs, in their order, each cluster
// planned at once; ok is false when any row is not issued, not in sync, failed or has a problem.
func fleetRows(ctx context.Context, cfg *config.Config, store *state.Store, runs []clusterRun, plan planFunc, now time.Time) (rows []credentialStatus, ok bool) {
	per := make([][]credentialStatus, len(runs))
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, cred := range runs[i].creds {
				per[i] = append(per[i], statusRow(ctx, cfg, store, &runs[i], cred, plan, now))
			}
		}()
	}
	wg.Wait()
	rows = slices.Concat(per...)
	ok = true
	for _, r := range rows {
		ok = ok && r.ID != "" && r.InSync != nil && *r.InSync == *r.Namespaces && len(r.Problems) == 0 && r.LastResult != "failed"
	}
	return rows, ok
}

// statusRow is cred in run's cluster: its state, read from the rotator's own cluster (so known
// even when the member is down), and, when the cluster was reached, its namespaces in sync.
func statusRow(ctx context.Context, cfg *config.Config, store *state.Store, run *clusterRun, cred *config.Credential, plan planFunc, now time.Time) credentialStatus {
	row := credentialStatus{Credential: cred.Name, Cluster: run.cluster, Provider: cred.Provider, Suspended: cred.Suspend}
	member := ""
	if run.cluster != config.LocalCluster {
		member = run.cluster
	}
	st, err := store.Load(ctx, state.Key(cred.Name, member))
	if err != nil {
		row.Problems = append(row.Problems, err.Error())
	} else {
		row.fromState(st)
		row.NextRun = service.NextRun(cfg, cred, st, now)
	}
	if run.err != nil {
		row.Problems = append(row.Problems, run.err.Error())
		return row
	}
	rep := plan(ctx, run, cred)
	row.Problems = append(row.Problems, rep.Errors...)
	inSync, namespaces := 0, 0
	for _, s := range rep.Secrets {
		namespaces++
		if s.Action == "unchanged" {
			inSync++
		}
	}
	row.InSync, row.Namespaces = &inSync, &namespaces
	return row
}
