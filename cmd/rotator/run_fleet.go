package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/controller"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/notify"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/service"
	"github.com/rotatorhq/rotator/internal/sharding"
	"github.com/rotatorhq/rotator/internal/state"
)

// shard is one cluster of the fleet as `rotator run` serves it: the credentials that target
// it, rotated and repaired by one replica at a time, the leader of the cluster's own Lease
// (shardLease). Each shard runs alone: its own runner and run lock, its own namespace
// controller on its own informers, its own schedule and back-off. A member that cannot be
// reached fails, and retries, only its own shard.
type shard struct {
	cluster string         // "" for the rotator's own cluster
	cfg     *config.Config // the config with only the credentials that target cluster
}

// name is the cluster's name as the config spells it.
func (s shard) name() string {
	if s.cluster == "" {
		return config.LocalCluster
	}
	return s.cluster
}

// shardsOf splits cfg into its shards: the rotator's own cluster first, always (its Lease,
// rotator-leader, is the one the "no leader" alert watches), then each member that a credential
// targets, in the config's order.
func shardsOf(cfg *config.Config) []shard {
	creds := make([]*config.Credential, len(cfg.Credentials))
	for i := range cfg.Credentials {
		creds[i] = &cfg.Credentials[i]
	}
	out := []shard{{cfg: withCredentials(cfg, nil)}}
	for _, run := range planClusters(cfg, creds, "") {
		if run.cluster == config.LocalCluster {
			out[0].cfg = withCredentials(cfg, run.creds)
			continue
		}
		out = append(out, shard{cluster: run.cluster, cfg: withCredentials(cfg, run.creds)})
	}
	return out
}

func withCredentials(cfg *config.Config, creds []*config.Credential) *config.Config {
	c := *cfg
	c.Credentials = make([]config.Credential, 0, len(creds))
	for _, cred := range creds {
		c.Credentials = append(c.Credentials, *cred)
	}
	return &c
}

// shardLease is the Lease the replicas elect a cluster's leader on: service.LeaderLease for
// the rotator's own cluster, "rotator-leader.<cluster>" for a member.
func shardLease(cluster string) string { return state.Key(service.LeaderLease, cluster) }

// fleetService is what every shard of `rotator run` shares: flags, identity, logger, metrics
// and the notifier of the running config.
type fleetService struct {
	flags    *runFlags
	id       string
	log      *slog.Logger
	m        *metrics.Metrics
	windows  *metrics.Windows
	ctrl     *metrics.Controller
	fleet    *metrics.Fleet
	notifier *notify.Notifier
	// probeEvery is how often the leader of a member's shard asks the member's API server for
	// its version (rotator_cluster_up, and an Event when it changes). Default 30s.
	probeEvery time.Duration
}

// serve runs every shard of cfg until ctx ends: in each, this replica stands for election on
// the shard's Lease and, while it leads, serves it.
//
// A fleet's shards are shared out among the replicas (package sharding): each replica
// announces itself, and stands only for the shards the assignment gives it, and yields a shard
// it leads once the assignment gives it to another live replica (one that joined). A replica
// that dies stops announcing itself; the others take its shards over once its shard Leases
// expire. A single cluster needs none of this: its one Lease is today's leader election.
func (fs *fleetService) serve(ctx context.Context, a *app, cfg *config.Config) {
	shards := shardsOf(cfg)
	var members *sharding.Members
	if len(shards) > 1 {
		var names []string
		for _, sh := range shards {
			names = append(names, sh.name())
		}
		members = &sharding.Members{Client: a.kube, Namespace: cfg.StateNamespace, Identity: fs.id, Shards: names,
			Duration: fs.flags.leaseDuration, Logger: fs.log}
		members.Start(ctx)
	}
	var wg sync.WaitGroup
	for _, sh := range shards {
		wg.Go(func() { fs.serveShard(ctx, a, sh, members) })
	}
	wg.Wait()
}

// serveShard stands for election on sh's Lease until ctx ends; with members, only while the
// assignment gives sh to this replica, and a leadership is handed back once it gives sh to
// another.
func (fs *fleetService) serveShard(ctx context.Context, a *app, sh shard, members *sharding.Members) {
	f := fs.flags
	for ctx.Err() == nil {
		electionCtx, handBack := context.WithCancel(ctx)
		var leading atomic.Bool
		election := service.Election{Client: a.kube, Namespace: sh.cfg.StateNamespace, Identity: fs.id, Lease: shardLease(sh.cluster),
			LeaseDuration: f.leaseDuration, RenewDeadline: f.leaseDuration * 2 / 3, RetryPeriod: f.leaseDuration / 7}
		election.Leading = func(on bool) {
			leading.Store(on)
			if sh.cluster != "" {
				fs.fleet.Leading(sh.cluster, on)
			}
		}
		if sh.cluster == "" {
			election.Metrics = fs.m // rotator_leader: the rotator's own cluster
		}
		if members != nil {
			mine := func() bool { return members.Mine(sh.name()) }
			election.Gate = func(l resourcelock.Interface) resourcelock.Interface {
				return &sharding.Gate{Interface: l, Shard: sh.name(), Mine: mine, Orphaned: 2 * f.leaseDuration, Clock: clock.RealClock{}}
			}
			go func() {
				t := time.NewTicker(max(f.leaseDuration/5, 100*time.Millisecond))
				defer t.Stop()
				for {
					select {
					case <-electionCtx.Done():
						return
					case <-t.C:
					}
					if leading.Load() && !mine() {
						fs.log.Info("handing the cluster over to the replica the assignment gives it", "cluster", sh.name(), "to", members.Owner(sh.name()))
						handBack() // the election releases the Lease (ReleaseOnCancel)
						return
					}
				}
			}()
		}
		gaveUp := false
		if err := election.Run(electionCtx, func(ctx context.Context) {
			fs.lead(ctx, a, sh)
			// A leader that stopped serving while still leading must not keep the shard.
			gaveUp = ctx.Err() == nil
			handBack()
		}); err != nil {
			fs.log.Error("leader election", "cluster", sh.name(), "err", err)
		}
		handBack()
		if gaveUp {
			select { // let another replica have it before standing again
			case <-ctx.Done():
			case <-time.After(f.leaseDuration):
			}
		}
	}
}

// lead serves sh while this replica leads it.
func (fs *fleetService) lead(ctx context.Context, a *app, sh shard) {
	f := fs.flags
	log := fs.log
	if sh.cluster != "" {
		log = log.With("cluster", sh.cluster)
	}
	log.Info("leading", "identity", fs.id, "lease", shardLease(sh.cluster), "credentials", len(sh.cfg.Credentials))
	runner, watch, meta, ok := fs.connect(ctx, a, sh, log)
	if !ok {
		return
	}
	// Every run is an acquisition of its own: a run left over from an earlier leadership of this
	// process excludes the next one like another replica's would.
	runner.Lock = runLocks(a, sh.cfg, "rotator run", true)(sh.name())
	// The namespace controller: informers filled once per leadership and config, then watches
	// (a member's, with its state read from the rotator's own cluster); its cache of the state
	// Secrets is what the service reads at each step.
	locks := &controller.CredentialLocks{}
	ctrl := &controller.Controller{Config: sh.cfg, Kube: watch, Metadata: meta, StateKube: a.watch, Cluster: sh.cluster,
		Reconciler: runner, Logger: log, Metrics: fs.ctrl, Locks: locks, Resync: f.resync}
	if err := ctrl.Start(ctx); err != nil {
		log.Error("namespace controller", "err", err)
		return
	}
	svc := &service.Service{
		Config: sh.cfg, Cluster: sh.cluster, Rotator: runner, States: a.store, Clock: clock.RealClock{}, Logger: fs.log, Metrics: fs.m,
		Reconcile: f.reconcile, NoJitter: f.noJitter, ShutdownGrace: f.shutdownGrace,
		WindowMetrics: fs.windows, Events: a.runner.Events, Busy: locks,
	}
	if fs.notifier != nil { // not a typed nil in the interface
		svc.Notifier = fs.notifier
	}
	if sh.cluster != "" {
		go fs.probe(ctx, a, sh, runner.Kube, log)
	}
	syncCtx, syncDone := context.WithTimeout(ctx, f.syncTimeout)
	synced := ctrl.WaitForSync(syncCtx)
	syncDone()
	switch {
	case ctx.Err() != nil:
		return
	case synced:
		go ctrl.Run(ctx)
		svc.States, svc.Liveness = ctrl.States(), runner.NeedsRun
		// Its runs plan from the same caches rather than listing what they hold again.
		planner := *runner
		planner.Observed = ctrl.Observed()
		svc.Rotator = &planner
	default:
		// Never wedge on a cache: without it the service repairs drift by its periodic full
		// check, as before the controller existed.
		log.Error("the namespace controller's caches did not fill: RBAC must allow list and watch on namespaces, on the managed Secrets (by name), on the configured ServiceAccounts and on Secrets in the state namespace (deploy/rbac, deploy/base); drift is repaired by the periodic check every --reconcile instead",
			"waited", f.syncTimeout)
	}
	_ = svc.Run(ctx)
}

// connect builds the shard's runner and the clients its informers watch with: the rotator's
// own, or a member's from its kubeconfig. A member whose kubeconfig cannot be read is retried
// with back-off (5 s doubling to 5 min) until it can or leadership ends (ok false); meanwhile
// it is reported down.
func (fs *fleetService) connect(ctx context.Context, a *app, sh shard, log *slog.Logger) (_ *rotation.Runner, _ kubernetes.Interface, _ metadata.Interface, ok bool) {
	if sh.cluster == "" {
		r := *a.runner
		r.Config = sh.cfg
		return &r, a.watch, a.meta, true
	}
	wait := 5 * time.Second
	for {
		installation, err := installationUID(ctx, a, sh.cfg)
		if err == nil {
			rc, rerr := memberRestConfig(ctx, a, sh.cfg, sh.cfg.Cluster(sh.cluster))
			if err = rerr; err == nil {
				r, clients, cerr := memberRunnerFrom(a, sh.cfg, sh.cluster, installation, rc)
				if err = cerr; err == nil {
					return r, clients.Watch, clients.Metadata, true
				}
			}
		}
		fs.clusterDown(ctx, a, sh, log, err)
		select {
		case <-ctx.Done():
			return nil, nil, nil, false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// probe asks the member's API server for its version every probeEvery while this replica
// leads the shard: rotator_cluster_up, and a log line and an Event in the rotator's own cluster
// whenever the answer changes. One GET a probe, no list: an idle fleet stays cheap.
func (fs *fleetService) probe(ctx context.Context, a *app, sh shard, kube kubernetes.Interface, log *slog.Logger) {
	every := fs.probeEvery
	if every == 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	up, first := true, true // up: as last reported; the first probe reports either way
	for ; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		_, err := kube.Discovery().ServerVersion()
		switch {
		case err == nil && first:
			fs.fleet.Up(sh.cluster, true)
		case err != nil && up:
			up = false
			fs.clusterDown(ctx, a, sh, log, err)
		case err == nil && !up:
			up = true
			fs.fleet.Up(sh.cluster, true)
			log.Info("cluster reachable again")
			for _, c := range sh.cfg.Credentials {
				a.runner.Events.Normal(ctx, events.Secret(sh.cfg.StateNamespace, state.SecretName(state.Key(c.Name, sh.cluster))), reasonClusterReachable,
					"cluster %s answers again; its runs go on", sh.cluster)
			}
		}
	}
}

// Reasons of the Events about a member's reachability, on the state Secrets of its credentials
// in the rotator's own cluster (the member may not take an Event).
const (
	reasonClusterUnreachable = "ClusterUnreachable"
	reasonClusterReachable   = "ClusterReachable"
)

// clusterDown reports member sh unreachable: metric, log line, and a Warning Event on the state
// Secret of each of its credentials. Its old credentials stay: nothing of the shard is revoked
// while its targets cannot be written (the state machine's "never revoke while held").
func (fs *fleetService) clusterDown(ctx context.Context, a *app, sh shard, log *slog.Logger, err error) {
	fs.fleet.Up(sh.cluster, false)
	log.Error("cluster unreachable: its credentials wait, nothing of it is revoked, the other clusters go on", "err", err)
	for _, c := range sh.cfg.Credentials {
		a.runner.Events.Warning(ctx, events.Secret(sh.cfg.StateNamespace, state.SecretName(state.Key(c.Name, sh.cluster))), reasonClusterUnreachable,
			"cluster %s cannot be reached (%v); its credential is kept until it can, the other clusters are not held up", sh.cluster, err)
	}
}
