package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/service"
	"github.com/rotatorhq/rotator/internal/version"
)

type runFlags struct {
	config        string
	listen        string
	leaseDuration time.Duration
	reconcile     time.Duration
	noJitter      bool
	shutdownGrace time.Duration
	resync        time.Duration
	syncTimeout   time.Duration
	clusterProbe  time.Duration
}

func newRunCommand(g *globalFlags) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run as a service: rotate on schedule and before expiry, repair drift, revoke on time",
		Example: `  rotator run --config /etc/rotator/config.yaml
  rotator run --config config.yaml --listen :9090 --log-format json`,
		Long: `Run rotator as a long-running service (usually a Deployment of two replicas). Replicas elect
a leader on the Lease rotator-leader in the state namespace; only the leader rotates, and a new one
takes over within --lease-duration when it dies. Each credential is rotated on its cron schedule,
and whatever the schedule, before its remaining lifetime falls under renewBefore. Failed runs are
retried with growing back-off. Every run takes the same lock as 'rotator rotate now'. Metrics on
/metrics, health on /healthz and /readyz.

Drift is repaired by watch, in seconds: the leader watches the namespaces, the managed Secrets,
the configured ServiceAccounts and the state Secrets, and reconciles each target namespace that
changes (a namespace created with the selector's labels, a managed Secret deleted or edited, a
ServiceAccount created later) from its caches. With targets.prune, a namespace that stops being a
target loses its managed Secret and binding. Every --reconcile each credential is checked at the
provider (deleted, disabled, expired or renamed there: a new one is issued); idle, the service
sends no list to the API server.

With windows in the config, scheduled rotations and restarts happen only inside them; repairs
run at any time and leave their restarts to the next window; a credential that cannot wait for
the next window is rotated anyway, with a log line, an Event and a metric. A credential with
suspend: true gets no scheduled work at all.

In a fleet (clusters: in the config, docs/fleet.md) each cluster is a shard with a Lease of its
own (rotator-leader.<cluster>), served by one replica at a time; the clusters are shared out
evenly among the replicas, a dead replica's are taken over within about --lease-duration, and a
member that cannot be reached is reported (rotator_cluster_up, --cluster-probe) and retried
without holding up the others.

The config file is re-read when it changes: a valid new config takes effect at once; an invalid
one is reported and the running config kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runService(cmd, g, f) },
	}
	cmd.Flags().StringVar(&f.config, "config", "", "config file (required)")
	cmd.Flags().StringVar(&f.listen, "listen", ":8080", "address of /metrics, /healthz and /readyz")
	cmd.Flags().DurationVar(&f.leaseDuration, "lease-duration", 15*time.Second, "leader lease duration: how long a dead leader keeps the lease")
	cmd.Flags().DurationVar(&f.reconcile, "reconcile", 10*time.Minute, "how often each credential is checked at the provider between scheduled rotations")
	cmd.Flags().DurationVar(&f.syncTimeout, "sync-timeout", 2*time.Minute, "how long the namespace controller's caches may take to fill before the service goes on without them (periodic full checks)")
	cmd.Flags().DurationVar(&f.resync, "resync", time.Hour, "how often every target namespace is reconciled again from the caches (no API request), in case an event was missed")
	cmd.Flags().DurationVar(&f.clusterProbe, "cluster-probe", 30*time.Second, "in a fleet, how often the replica serving a member cluster checks that its API server answers (rotator_cluster_up; an Event when it changes)")
	cmd.Flags().BoolVar(&f.noJitter, "no-jitter", false, "run schedules exactly on time (tests)")
	cmd.Flags().DurationVar(&f.shutdownGrace, "shutdown-grace", 20*time.Second, "on SIGTERM or lost leadership, how long the rotation in hand may go on to finish its step")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runService(cmd *cobra.Command, g *globalFlags, f *runFlags) error {
	cfg, hash, err := loadWithHash(f.config)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	log := g.logger(cmd.ErrOrStderr())
	log.Info("memory", tuneMemory(memlimit.FromCgroup)...)
	l, err := net.Listen("tcp", f.listen)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("listen %s: %w", f.listen, err)}
	}
	health := &service.Health{}
	grp, ctx := errgroup.WithContext(cmd.Context())
	grp.Go(func() error { return service.Serve(ctx, l, reg, health) })
	m := metrics.New(reg)
	metrics.RegisterBuildInfo(reg, version.Get())
	fs := &fleetService{flags: f, id: identity(), log: log, m: m, windows: metrics.NewWindows(reg), probeEvery: f.clusterProbe,
		ctrl: metrics.NewController(reg), fleet: metrics.NewFleet(reg)}
	nm := metrics.NewNotifications(reg)
	grp.Go(func() error {
		// The first wiring proves the config and the cluster connection before /readyz says ok.
		a, err := wireAll(ctx, cfg, g, cmd.ErrOrStderr(), m)
		if err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		health.SetReady(true)
		log.Info("rotator run started", "identity", fs.id, "credentials", len(cfg.Credentials), "clusters", len(cfg.Clusters)+1, "version", version.Get().Version)
		for {
			// The notifier lives as long as its config: dedup memory starts afresh with a new one.
			fs.notifier = newNotifier(cfg, a.secrets, log, nm)
			fs.notifier.Start(ctx)
			cfgCtx, cancel := context.WithCancel(ctx)
			changed := make(chan loaded, 1)
			go watchConfig(cfgCtx, f.config, hash, 10*time.Second, changed, log.Warn)
			served := make(chan struct{})
			go func() {
				defer close(served)
				fs.serve(cfgCtx, a, cfg)
			}()
			var next loaded
			select {
			case next = <-changed:
			case <-ctx.Done():
			}
			cancel()
			<-served
			fs.notifier.Stop()
			if ctx.Err() != nil {
				a.close()
				return nil
			}
			na, err := wireAll(ctx, next.cfg, g, cmd.ErrOrStderr(), m)
			if err != nil {
				log.Error("config changed but cannot be used; keeping the running one", "err", err)
				hash = next.hash
				continue
			}
			log.Info("config changed: the schedule restarts with it")
			a.close()
			cfg, hash, a = next.cfg, next.hash, na
		}
	})
	err = grp.Wait()
	if err != nil && cmd.Context().Err() == nil {
		return err
	}
	return nil
}

func loadWithHash(path string) (*config.Config, [32]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("config: %w", err)
	}
	c, err := config.Parse(b, path)
	return c, sha256.Sum256(b), err
}

type loaded struct {
	cfg  *config.Config
	hash [32]byte
}

// watchConfig polls the config file (a ConfigMap mount changes by symlink swap, which inotify
// misses easily) and sends a valid changed config. An invalid file is reported and ignored.
func watchConfig(ctx context.Context, path string, hash [32]byte, every time.Duration, changed chan<- loaded, warn func(string, ...any)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil || sha256.Sum256(b) == hash {
			continue
		}
		hash = sha256.Sum256(b)
		c, err := config.Parse(b, path)
		if err != nil {
			warn("config file changed but is invalid; keeping the running config", "err", err)
			continue
		}
		changed <- loaded{c, hash}
		return
	}
}

// wireAll wires every credential of cfg.
func wireAll(ctx context.Context, cfg *config.Config, g *globalFlags, stderr io.Writer, m *metrics.Metrics) (*app, error) {
	creds := make([]*config.Credential, len(cfg.Credentials))
	for i := range cfg.Credentials {
		creds[i] = &cfg.Credentials[i]
	}
	return wire(ctx, cfg, creds, g, stderr, m)
}
