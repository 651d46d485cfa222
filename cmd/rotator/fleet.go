package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rotatorhq/rotator/internal/bindguard"
	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/kubeclient"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/runlock"
)

// clusterRun is the work of one run in one cluster of the fleet: the credentials that target
// it, and the runner that writes there (nil when the cluster could not be reached: err).
type clusterRun struct {
	cluster string // config.LocalCluster for the rotator's own
	creds   []*config.Credential
	runner  *rotation.Runner
	err     error
}

// planClusters groups creds by the clusters they target, the rotator's own first, then in the
// order of the config's clusters; only (cluster == "" or the named one) with --cluster.
func planClusters(cfg *config.Config, creds []*config.Credential, only string) []clusterRun {
	order := []string{config.LocalCluster}
	for _, c := range cfg.Clusters {
		order = append(order, c.Name)
	}
	var out []clusterRun
	for _, name := range order {
		if only != "" && name != only {
			continue
		}
		run := clusterRun{cluster: name}
		for _, c := range creds {
			if slices.Contains(c.TargetClusters(), name) {
				run.creds = append(run.creds, c)
			}
		}
		if len(run.creds) > 0 {
			out = append(out, run)
		}
	}
	return out
}

// memberRunner is a copy of the rotator's runner that writes to fleet member name: its own
// clients, its own Events, its state kept in the rotator's namespace beside the others, and
// an installation tag of its own, so that each (credential, cluster) has its own credential at
// the provider and tells it from the other clusters' (revoked alone, a leak contained).
func memberRunner(ctx context.Context, a *app, cfg *config.Config, name string, installation types.UID) (*rotation.Runner, error) {
	rc, err := memberRestConfig(ctx, a, cfg, cfg.Cluster(name))
	if err != nil {
		return nil, err
	}
	r, _, err := memberRunnerFrom(a, cfg, name, installation, rc)
	return r, err
}

// memberRunnerFrom is memberRunner on a rest config already read (status also needs its
// server's address); it also gives the member's clients (rotator run's informers watch with them).
func memberRunnerFrom(a *app, cfg *config.Config, name string, installation types.UID, rc *rest.Config) (*rotation.Runner, kubeclient.Clients, error) {
	clients, err := kubeclient.New(rc, "rotator", cfg.Kubernetes.QPS, cfg.Kubernetes.Burst)
	if err != nil {
		return nil, clients, fmt.Errorf("cluster %s: %w", name, err)
	}
	home := a.runner
	r := *home
	r.Kube = clients.Main
	r.Cluster, r.Installation = name, memberTag(installation, name)
	r.States = a.store
	r.StateEvents = home.Events
	r.Events = &events.Recorder{Client: clients.Events, Clock: home.Clock, Logger: home.Logger, Instance: identity(), Background: true}
	if home.Bindings != nil { // its own: a guard keys ServiceAccounts by namespace and name
		r.Bindings = &bindguard.Guard{Clock: home.Clock}
	}
	return &r, clients, nil
}

// memberRestConfig reads member c's kubeconfig (a file, env or Vault through the config's
// secret sources, or a Secret in the rotator's namespace) and picks its context.
func memberRestConfig(ctx context.Context, a *app, cfg *config.Config, c *config.Cluster) (*rest.Config, error) {
	var raw []byte
	switch {
	case c.KubeconfigFrom != nil:
		v, err := a.secrets.Read(ctx, *c.KubeconfigFrom)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: read its kubeconfig (kubeconfigFrom): %w", c.Name, err)
		}
		raw = []byte(v)
	default:
		ks := c.KubeconfigSecret
		s, err := a.kube.CoreV1().Secrets(cfg.StateNamespace).Get(ctx, ks.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: read its kubeconfig from Secret %s/%s (the rotator's Role must allow get on it): %w", c.Name, cfg.StateNamespace, ks.Name, err)
		}
		if raw = s.Data[ks.Key]; len(raw) == 0 {
			return nil, fmt.Errorf("cluster %s: Secret %s/%s has no key %q", c.Name, cfg.StateNamespace, ks.Name, ks.Key)
		}
	}
	kc, err := clientcmd.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: its kubeconfig does not parse: %w", c.Name, err)
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*kc, c.Context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig context %q: %w", c.Name, c.Context, err)
	}
	return rc, nil
}

// installationUID is the UID of the rotator's namespace in its own cluster: it identifies this
// installation, and with a member's name, the member's credentials (memberTag).
func installationUID(ctx context.Context, a *app, cfg *config.Config) (types.UID, error) {
	l, err := a.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", cfg.StateNamespace).String()})
	if err != nil {
		return "", fmt.Errorf("read the rotator's namespace %s: %w", cfg.StateNamespace, err)
	}
	if len(l.Items) == 0 {
		return "", fmt.Errorf("the rotator's namespace %s does not exist in its own cluster: create it first", cfg.StateNamespace)
	}
	return l.Items[0].UID, nil
}

// fleetInstallation is installationUID, read once for all the members among runs, and not at all
// when runs has none (the rotator's own cluster does not need it).
func fleetInstallation(ctx context.Context, a *app, cfg *config.Config, runs []clusterRun) (types.UID, error) {
	if !slices.ContainsFunc(runs, func(r clusterRun) bool { return r.cluster != config.LocalCluster }) {
		return "", nil
	}
	return installationUID(ctx, a, cfg)
}

// memberTag is the installation tag of member name: 8 hex digits of a hash of the
// installation's UID and the member's name.
func memberTag(installation types.UID, name string) string {
	sum := sha256.Sum256([]byte(string(installation) + "/" + name))
	return hex.EncodeToString(sum[:4])
}

// rotateFleet runs opts in every cluster of runs at once, each alone: a cluster that cannot be
// reached fails its own credentials and delays no other. Reports come in the order of runs.
// Each member's runner takes its cluster's run lock (locks).
func rotateFleet(ctx context.Context, a *app, cfg *config.Config, runs []clusterRun, opts rotation.Options, locks func(cluster string) lockFunc) []*rotation.Report {
	out := make([][]*rotation.Report, len(runs))
	installation, installErr := fleetInstallation(ctx, a, cfg, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := &runs[i]
			run.runner = a.runner
			switch {
			case run.cluster == config.LocalCluster:
			case installErr != nil:
				run.err = fmt.Errorf("cluster %s: %w", run.cluster, installErr)
			default:
				if run.runner, run.err = memberRunner(ctx, a, cfg, run.cluster, installation); run.err == nil {
					run.runner.Lock = locks(run.cluster)
				}
			}
			if run.err != nil {
				for _, c := range run.creds {
					rep := &rotation.Report{Credential: c.Name, Cluster: run.cluster, Provider: c.Provider, DryRun: opts.DryRun, Result: rotation.Failed,
						Cause: rotation.Transient, Errors: []string{run.err.Error()}}
					out[i] = append(out[i], rep)
				}
				return
			}
			out[i] = run.runner.RotateAll(ctx, run.creds, opts)
		}()
	}
	wg.Wait()
	return slices.Concat(out...)
}

// lockFunc is a runner's run lock (rotation.Runner.Lock).
type lockFunc = func(ctx context.Context) (context.Context, func(), error)

// runLocks gives each cluster of the fleet its own run lock (runlock.NameFor): a scheduled and a
// manual run of one cluster exclude each other, runs of two clusters never wait for each other
// (a member timing out holds up no other). purpose names the command in the Lease's holder.
func runLocks(a *app, cfg *config.Config, purpose string, wait bool) func(cluster string) lockFunc {
	return func(cluster string) lockFunc {
		if cluster == config.LocalCluster {
			cluster = ""
		}
		lock := &runlock.Lock{Client: a.kube, Namespace: cfg.StateNamespace, Name: runlock.NameFor(cluster), Purpose: purpose}
		return func(ctx context.Context) (context.Context, func(), error) { return lock.Acquire(ctx, wait) }
	}
}

func clusterNames(cfg *config.Config) string {
	out := ""
	for _, c := range cfg.Clusters {
		out += ", " + c.Name
	}
	return out
}
