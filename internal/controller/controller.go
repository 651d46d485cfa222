// Package controller is the event-driven half of `rotator run`: informers on the namespaces, the
// managed Secrets, the configured ServiceAccounts and the state Secrets feed a rate-limited work
// queue keyed by (credential, namespace), and each key is reconciled from the caches
// (rotation.Runner.ReconcileNamespace). A namespace created with the selector's labels gets its
// Secret and binding in about a second; a managed Secret deleted or edited is restored as fast.
// Rotation itself (issue, verify, promote, revoke) stays a whole-credential run of the service,
// on the schedule and before expiry.
//
// Once the caches have synced, an idle controller sends no request at all: the informers watch,
// and a safety resync re-reads the caches, not the API server.
package controller

import (
	"context"

	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

// Reconciler does the work of one key: rotation.Runner in production.
type Reconciler interface {
	ReconcileNamespace(ctx context.Context, cred *config.Credential, v rotation.NamespaceView) rotation.NamespaceResult
	UnstickNamespace(ctx context.Context, cred *config.Credential, ns string) ([]restart.UnstickResult, error)
}

// Controller reconciles every target namespace of every credential of Config.
type Controller struct {
	Config   *config.Config
	Kube     kubernetes.Interface
	Metadata metadata.Interface
	// StateKube reaches the rotator's own cluster, where the state Secrets live: for a fleet
	// member's controller Kube and Metadata reach the member, StateKube the rotator's cluster
	// (nil: Kube).
	StateKube kubernetes.Interface
	// Cluster is the fleet member Kube reaches ("" for the rotator's own cluster): its states
	// are "<credential>.<cluster>" (state.Key), and its metrics are labelled so.
	Cluster    string
	Reconciler Reconciler
	Logger     *slog.Logger
	Metrics    *metrics.Controller
	// Locks are shared with the service's runs (service.Service.Busy).
	Locks *CredentialLocks
	// Resync re-reads every cached namespace at this interval, from the caches: a safety net
	// for a missed event, costing no request. Default 1h.
	Resync time.Duration
	// Workers reconcile this many keys at once. Default kubernetes.concurrency.
	Workers int
	// UnstickAfter are the delays after a repair at which the namespace's pods are checked again
	// for pods stuck pulling: a pod created before its ServiceAccount was bound has no pull
	// secret and fails only once kubelet has tried. Default 3s, 10s, 30s, 90s.
	UnstickAfter []time.Duration
	// BusyRetry is how often the keys waiting for the end of their credential's run (parked)
	// check whether it has ended. Default 2s.
	BusyRetry time.Duration
	// RepairLimit repairs of one namespace within RepairWindow, at most; a namespace whose
	// managed Secret is deleted or edited again and again gets it back at that pace (budget.go).
	// Default 10 within 10m.
	RepairLimit  int
	RepairWindow time.Duration
	// Now is the clock of the repair budget; default time.Now.
	Now func() time.Time

	caches *caches
	queue  workqueue.TypedRateLimitingInterface[key]
	// failed are the namespaces whose last reconcile failed, by credential
	// (rotator_namespaces_failing).
	mu     sync.Mutex
	failed map[string]map[string]bool
	creds  map[string]*config.Credential
	synced chan struct{}
	budget repairBudget // guarded by mu
	// parked are the namespaces whose reconcile waits for the end of their credential's run, by
	// credential: one check every BusyRetry brings them all back. A key each on the queue's timer
	// would be every target namespace (a run's state change queues them all: 10,000 at 10,000
	// namespaces), each taken and put back every BusyRetry for as long as the run lasts.
	parkMu sync.Mutex
	parked map[string]map[string]struct{}
	// ctx is Start's: parked keys wait for their credential's run until it ends.
	ctx context.Context
}

// key is one unit of work: a credential's namespace; unstick > 0 is the n-th follow-up check
// of its pods after a repair.
type key struct {
	credential, namespace string
	unstick               int
}

func (c *Controller) defaults() {
	if c.Resync == 0 {
		c.Resync = time.Hour
	}
	if c.Workers == 0 {
		c.Workers = max(c.Config.Kubernetes.Concurrency, 1)
	}
	if c.UnstickAfter == nil {
		c.UnstickAfter = []time.Duration{3 * time.Second, 10 * time.Second, 30 * time.Second, 90 * time.Second}
	}
	if c.BusyRetry == 0 {
		c.BusyRetry = 2 * time.Second
	}
	if c.RepairLimit == 0 {
		c.RepairLimit = 10
	}
	if c.RepairWindow == 0 {
		c.RepairWindow = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.budget = repairBudget{limit: c.RepairLimit, window: c.RepairWindow, times: map[key][]time.Time{}, warned: map[key]bool{}}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Locks == nil {
		c.Locks = &CredentialLocks{}
	}
}

// Start builds the informers and starts them; call it once. WaitForSync tells when the
// caches are filled; Run then reconciles.
func (c *Controller) Start(ctx context.Context) error {
	c.defaults()
	c.ctx = ctx
	c.synced = make(chan struct{})
	c.creds = map[string]*config.Credential{}
	var secretNames, saNames []string
	for i := range c.Config.Credentials {
		cred := &c.Config.Credentials[i]
		if cred.Suspend {
			continue // suspend: no repair either (config.Credential.Suspend)
		}
		c.creds[cred.Name] = cred
		secretNames = appendNew(secretNames, cred.Targets.SecretName)
		for _, sa := range cred.Targets.ServiceAccounts {
			saNames = appendNew(saNames, sa)
		}
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[key](),
		workqueue.TypedRateLimitingQueueConfig[key]{Name: state.Key("namespaces", c.Cluster), MetricsProvider: c.Metrics.QueueMetrics()})
	stateKube := c.StateKube
	if stateKube == nil {
		stateKube = c.Kube
	}
	c.caches = newCaches(c.Kube, c.Metadata, stateKube, c.Config.StateNamespace, secretNames, saNames, c.Resync)
	if err := c.handle(); err != nil {
		return err
	}
	for _, inf := range c.caches.all() {
		go inf.RunWithContext(ctx)
	}
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), c.caches.synced()...) {
			close(c.synced)
		}
	}()
	context.AfterFunc(ctx, c.queue.ShutDown)
	return nil
}

// WaitForSync blocks until every cache is filled (true) or ctx ends (false).
func (c *Controller) WaitForSync(ctx context.Context) bool {
	select {
	case <-c.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// Run reconciles until ctx ends. Call it after Start, only while leading: only the leader writes.
func (c *Controller) Run(ctx context.Context) {
	if !c.WaitForSync(ctx) {
		return
	}
	c.Logger.Info("namespace controller running", "credentials", len(c.creds), "namespaces", len(c.caches.namespaceNames()), "workers", c.Workers)
	done := make(chan struct{})
	for range c.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for c.next(ctx) {
				}
			}, time.Second)
		}()
	}
	for range c.Workers {
		<-done
	}
}

// next takes one key off the queue and works it; false once the queue is shut down.
func (c *Controller) next(ctx context.Context) bool {
	k, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(k)
	cred, ok := c.creds[k.credential]
	if !ok {
		c.queue.Forget(k)
		return true
	}
	if k.unstick > 0 {
		c.unstick(ctx, cred, k)
		return true
	}
	if c.putOff(k) {
		return true
	}
	if !c.Locks.TryReconcile(cred.Name) {
		c.park(ctx, k) // its run writes this namespace, or will repair it
		return true
	}
	start := time.Now()
	res := c.Reconciler.ReconcileNamespace(ctx, cred, c.view(ctx, cred, k.namespace))
	c.Locks.DoneReconcile(cred.Name)
	c.Metrics.Reconcile(c.key(cred.Name), string(res.Outcome), time.Since(start))
	c.recordFailure(c.key(cred.Name), k.namespace, res.Err != nil)
	log := c.Logger.With("credential", cred.Name, "namespace", k.namespace)
	for _, msg := range res.Conflicts {
		// Once per give-up: the reconciles after it send nothing and say nothing new.
		log.Warn("serviceaccount binding given up: its owner keeps removing the entry", "detail", msg)
	}
	switch {
	case res.Err != nil && res.Permanent:
		// Retrying cannot help; a change of the object (or of the config) brings it back.
		log.Error("namespace reconcile failed; waiting for a change", "err", res.Err)
		c.queue.Forget(k)
	case res.Err != nil:
		log.Error("namespace reconcile failed; retrying with back-off", "err", res.Err, "retries", c.queue.NumRequeues(k))
		c.queue.AddRateLimited(k)
	case res.Outcome == rotation.NamespaceRepaired:
		log.Info("namespace repaired", "secret", res.Secret, "bound", res.Bound, "duration", time.Since(start).Round(time.Millisecond))
		c.mu.Lock()
		c.budget.repaired(k, c.Now())
		c.mu.Unlock()
		c.queue.Forget(k)
		c.unstick(ctx, cred, key{credential: k.credential, namespace: k.namespace})
	case res.Outcome == rotation.NamespacePruned:
		log.Info("namespace pruned: no target any more", "secret", res.Secret, "unbound", res.Unbound)
		c.queue.Forget(k)
	default:
		c.queue.Forget(k)
	}
	return true
}

// putOff requeues k for later when its namespace has used up its repair budget (budget.go).
func (c *Controller) putOff(k key) bool {
	c.mu.Lock()
	wait, first := c.budget.wait(k, c.Now())
	c.mu.Unlock()
	if wait <= 0 {
		return false
	}
	if first {
		c.Logger.Warn("namespace repaired too often (its managed Secret deleted or edited again and again); its next repair waits",
			"credential", k.credential, "namespace", k.namespace, "repairs", c.RepairLimit, "within", c.RepairWindow, "wait", wait.Round(time.Second))
	}
	c.Metrics.Throttled(c.key(k.credential))
	c.queue.AddAfter(k, wait)
	return true
}

// park keeps k until its credential's run has ended; the first key parked of a credential
// starts the one check, every BusyRetry, that puts them all back on the queue.
func (c *Controller) park(ctx context.Context, k key) {
	c.parkMu.Lock()
	defer c.parkMu.Unlock()
	if c.parked == nil {
		c.parked = map[string]map[string]struct{}{}
	}
	set, waiting := c.parked[k.credential]
	if !waiting {
		set = map[string]struct{}{}
		c.parked[k.credential] = set
		go c.unparkWhenFree(ctx, k.credential)
	}
	set[k.namespace] = struct{}{}
}

// unparkWhenFree puts the parked keys of credential back on the queue once no run holds it.
func (c *Controller) unparkWhenFree(ctx context.Context, credential string) {
	t := time.NewTicker(c.BusyRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.Locks.TryReconcile(credential) {
			continue
		}
		c.Locks.DoneReconcile(credential)
		c.parkMu.Lock()
		set := c.parked[credential]
		delete(c.parked, credential)
		c.parkMu.Unlock()
		for ns := range set {
			c.queue.Add(key{credential: credential, namespace: ns})
		}
		return
	}
}

// recordFailure keeps the set of failing namespaces of credential and its gauge up to date.
func (c *Controller) recordFailure(credential, ns string, failed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == nil {
		c.failed = map[string]map[string]bool{}
	}
	set := c.failed[credential]
	if set == nil {
		set = map[string]bool{}
		c.failed[credential] = set
	}
	if failed {
		set[ns] = true
	} else {
		delete(set, ns)
	}
	c.Metrics.Failing(credential, len(set))
}

// unstick replaces the namespace's pods stuck pulling, then schedules the next follow-up check.
func (c *Controller) unstick(ctx context.Context, cred *config.Credential, k key) {
	c.queue.Forget(k)
	found, err := c.Reconciler.UnstickNamespace(ctx, cred, k.namespace)
	if err != nil {
		c.Logger.Warn("unstick pods", "credential", cred.Name, "namespace", k.namespace, "err", err)
	}
	for _, u := range found {
		c.Logger.Info(u.String(), "credential", cred.Name)
	}
	if k.unstick < len(c.UnstickAfter) {
		// UnstickAfter are times after the repair: the wait is from this check to the next.
		wait := c.UnstickAfter[k.unstick]
		if k.unstick > 0 {
			wait -= c.UnstickAfter[k.unstick-1]
		}
		next := key{credential: k.credential, namespace: k.namespace, unstick: k.unstick + 1}
		c.queue.AddAfter(next, wait)
	}
}

// view is what the caches hold of one namespace for cred.
func (c *Controller) view(ctx context.Context, cred *config.Credential, ns string) rotation.NamespaceView {
	v := rotation.NamespaceView{Name: ns}
	if n := c.caches.namespace(ns); n != nil {
		v.Exists, v.Labels = true, n.Labels
	}
	v.Secret = c.caches.secret(ns, cred.Targets.SecretName)
	for _, name := range cred.Targets.ServiceAccounts {
		if sa := c.caches.serviceAccount(ns, name); sa != nil {
			if v.ServiceAccounts == nil {
				v.ServiceAccounts = map[string]*corev1.ServiceAccount{}
			}
			v.ServiceAccounts[name] = sa
		}
	}
	if st, err := c.States().Load(ctx, c.key(cred.Name)); err == nil {
		v.State = st
	} else {
		c.Logger.Error("state unreadable: the namespace waits for the credential's next run", "credential", cred.Name, "err", err)
	}
	return v
}

// key is what credential's state is kept and its metrics labelled under (state.Key).
func (c *Controller) key(credential string) string { return state.Key(credential, c.Cluster) }

// States reads the credentials' state from the cache (the service's StateReader once synced):
// no GET per step.
func (c *Controller) States() StateCache {
	return StateCache{c: c.caches, namespace: c.Config.StateNamespace}
}

// StateCache is a state reader on the controller's cache of the state Secrets.
type StateCache struct {
	c         *caches
	namespace string
}

// Load decodes the state Secret kept under key (state.Key) from the cache; a missing one is an
// empty state.
func (s StateCache) Load(_ context.Context, key string) (*state.State, error) {
	sec, err := s.c.stateSecret(s.namespace, state.SecretName(key))
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return &state.State{}, nil
	}
	return state.Decode(sec)
}

func appendNew(xs []string, x string) []string {
	if x == "" || slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}
