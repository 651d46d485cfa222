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
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/controller"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/runlock"
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
	wm := metrics.NewWindows(reg)
	cm := metrics.NewController(reg)
	nm := metrics.NewNotifications(reg)
	grp.Go(func() error {
		id := identity()
		// The first wiring proves the config and the cluster connection before /readyz says ok.
		a, err := wireAll(ctx, cfg, g, cmd.ErrOrStderr(), m)
		if err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		health.SetReady(true)
		// The notifier lives as long as its config: dedup memory starts afresh with a new one.
		notifier := newNotifier(cfg, a.secrets, log, nm)
		notifier.Start(ctx)
		defer func() { notifier.Stop() }()
		election := service.Election{Client: a.kube, Namespace: cfg.StateNamespace, Identity: id, Metrics: m,
			LeaseDuration: f.leaseDuration, RenewDeadline: f.leaseDuration * 2 / 3, RetryPeriod: f.leaseDuration / 7}
		log.Info("rotator run started", "identity", id, "credentials", len(cfg.Credentials), "version", version.Get().Version)
		return election.Run(ctx, func(ctx context.Context) {
			log.Info("leading", "identity", id)
			for ctx.Err() == nil {
				// Every run is an acquisition of its own: a run left over from an earlier leadership
				// of this process excludes the next one like another replica's would.
				lock := &runlock.Lock{Client: a.kube, Namespace: cfg.StateNamespace, Purpose: "rotator run"}
				a.runner.Lock = func(ctx context.Context) (context.Context, func(), error) { return lock.Acquire(ctx, true) }
				svcCtx, cancel := context.WithCancel(ctx)
				// The namespace controller: informers filled once per leadership and config, then
				// watches; its cache of the state Secrets is what the service reads at each step.
				locks := &controller.CredentialLocks{}
				ctrl := &controller.Controller{Config: cfg, Kube: a.watch, Metadata: a.meta, Reconciler: a.runner,
					Logger: log, Metrics: cm, Locks: locks, Resync: f.resync}
				if err := ctrl.Start(svcCtx); err != nil {
					cancel()
					log.Error("namespace controller", "err", err)
					return
				}
				svc := &service.Service{
					Config: cfg, Rotator: a.runner, States: a.store, Clock: clock.RealClock{}, Logger: log, Metrics: m,
					Reconcile: f.reconcile, NoJitter: f.noJitter, ShutdownGrace: f.shutdownGrace,
					WindowMetrics: wm, Events: a.runner.Events, Busy: locks,
				}
				if notifier != nil { // not a typed nil in the interface
					svc.Notifier = notifier
				}
				syncCtx, syncDone := context.WithTimeout(svcCtx, f.syncTimeout)
				synced := ctrl.WaitForSync(syncCtx)
				syncDone()
				switch {
				case svcCtx.Err() != nil:
					cancel()
					continue
				case synced:
					go ctrl.Run(svcCtx)
					svc.States, svc.Liveness = ctrl.States(), a.runner.NeedsRun
					// Its runs plan from the same caches rather than listing what they hold again.
					planner := *a.runner
					planner.Observed = ctrl.Observed()
					svc.Rotator = &planner
				default:
					// Never wedge on a cache: without it the service repairs drift by its periodic
					// full check, as before the controller existed.
					log.Error("the namespace controller's caches did not fill: RBAC must allow list and watch on namespaces, on the managed Secrets (by name), on the configured ServiceAccounts and on Secrets in the state namespace (deploy/rbac, deploy/base); drift is repaired by the periodic check every --reconcile instead",
						"waited", f.syncTimeout)
				}
				changed := make(chan loaded, 1)
				go watchConfig(svcCtx, f.config, hash, 10*time.Second, changed, log.Warn)
				go func() {
					select {
					case <-changed:
						cancel()
					case <-svcCtx.Done():
					}
				}()
				_ = svc.Run(svcCtx)
				cancel()
				select {
				case next := <-changed:
					na, err := wireAll(ctx, next.cfg, g, cmd.ErrOrStderr(), m)
					if err != nil {
						log.Error("config changed but cannot be used; keeping the running one", "err", err)
						hash = next.hash
						continue
					}
					log.Info("config changed: the schedule restarts with it")
					a.close()
					notifier.Stop()
					cfg, hash, a = next.cfg, next.hash, na
					notifier = newNotifier(cfg, a.secrets, log, nm)
					notifier.Start(ctx)
				default:
				}
			}
		})
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
