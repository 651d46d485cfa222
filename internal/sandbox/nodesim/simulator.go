// Package nodesim simulates one Kubernetes node for the sandbox, whose control plane runs a real
// kube-apiserver and kube-controller-manager but no kubelet and no scheduler. The simulator binds
// pending pods to its node (the scheduler's part) and then plays kubelet: it really pulls every
// container image with a keychain built from the pod's own imagePullSecrets, reports the pod
// Running or ErrImagePull/ImagePullBackOff with kubelet's events, and finishes pod deletion so
// Deployments, StatefulSets and DaemonSets can roll. No container is ever run.
package nodesim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// PullFunc fetches image with the credentials keychain resolves for it. It returns nil when the
// registry served the image's manifest, and otherwise the registry's error, whose text becomes the
// pod's event message as kubelet's would.
type PullFunc func(ctx context.Context, image string, keychain authn.Keychain) error

// Options configure a Simulator. Only Client is required.
type Options struct {
	// Client talks to the API server. It needs to write nodes, nodes/status, leases in
	// kube-node-lease, pods/binding, pods/status, pod deletion and events, and to read secrets.
	Client kubernetes.Interface
	// NodeName is the node the simulator registers and binds pods to. Default "sim-node".
	NodeName string
	// Logger receives the simulator's logs. Default: discard.
	Logger *slog.Logger
	// Pull fetches an image. Default: RegistryPull(Insecure), a real manifest request.
	Pull PullFunc
	// Clock drives heartbeats and pull back-off. Default: the real clock.
	Clock clock.Clock
	// Backoff is the delay before the first retry of a failed pull; it doubles on each further
	// failure up to ten times itself. Default 1s (so the cap is 10s): kubelet's 10s..300s would
	// make sandbox tests wait minutes.
	Backoff time.Duration
	// Insecure makes the default Pull use plain http, for the sandbox registry on 127.0.0.1.
	Insecure bool
}

const (
	defaultNodeName = "sim-node"
	defaultBackoff  = time.Second
	// backoffCapFactor bounds the pull back-off at this multiple of Options.Backoff.
	backoffCapFactor = 10
	// workers bounds concurrent pod syncs. Pulls are network-bound, so a few more than the
	// sandbox's two cores keeps hundreds of pods moving without flooding the API server.
	workers = 8
)

// Simulator plays kubelet and the scheduler for one node. Create it with New and start it with
// Run, once.
type Simulator struct {
	client     kubernetes.Interface
	nodeName   string
	log        *slog.Logger
	pull       PullFunc
	clock      clock.WithTicker
	backoff    time.Duration
	maxBackoff time.Duration

	queue  workqueue.TypedRateLimitingInterface[string]
	events *eventRecorder
	ips    *ipAllocator

	// Set by Run before any worker starts.
	pods    corelisters.PodLister
	nodes   corelisters.NodeLister
	nodeUID types.UID

	mu     sync.Mutex
	states map[types.UID]*podState // kubelet's memory of the pods it runs, by pod UID
}

// New returns a Simulator with o's defaults filled in. It does not contact the API server.
func New(o Options) *Simulator {
	if o.NodeName == "" {
		o.NodeName = defaultNodeName
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Pull == nil {
		o.Pull = RegistryPull(o.Insecure)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Backoff <= 0 {
		o.Backoff = defaultBackoff
	}
	clk := withTicker(o.Clock)
	log := o.Logger.With("node", o.NodeName)
	return &Simulator{
		client:     o.Client,
		nodeName:   o.NodeName,
		log:        log,
		pull:       o.Pull,
		clock:      clk,
		backoff:    o.Backoff,
		maxBackoff: backoffCapFactor * o.Backoff,
		// The queue's delays (pull back-off) follow the injected clock so tests can step it.
		// API errors are retried within seconds, not the controllers' default of up to 1000s: a
		// sandbox test waits for this simulator.
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Clock: clk},
		),
		events: newEventRecorder(o.Client, clk, o.NodeName, log),
		ips:    &ipAllocator{},
		states: map[types.UID]*podState{},
	}
}

// Run registers the node, keeps it alive, and handles pods until ctx is done. It returns nil when
// ctx ends and an error only when the node cannot be registered. Call it once.
func (s *Simulator) Run(ctx context.Context) error {
	defer s.queue.ShutDown()
	// Created before the node exists so that a test which sees the node may step a fake clock
	// and be sure the heartbeat's timer is already waiting.
	heartbeat := s.clock.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()

	if err := s.registerNode(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("register node %s: %w", s.nodeName, err)
	}
	s.heartbeatOnce(ctx)

	podInformer := coreinformers.NewPodInformer(s.client, metav1.NamespaceAll, 0, cache.Indexers{})
	nodeInformer := coreinformers.NewFilteredNodeInformer(s.client, 0, cache.Indexers{}, func(lo *metav1.ListOptions) {
		lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.nodeName).String()
	})
	s.pods = corelisters.NewPodLister(podInformer.GetIndexer())
	s.nodes = corelisters.NewNodeLister(nodeInformer.GetIndexer())
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.enqueuePod,
		UpdateFunc: func(_, obj any) { s.enqueuePod(obj) },
		DeleteFunc: s.podDeleted,
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	if _, err := nodeInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: s.nodeUpdated,
	}); err != nil {
		return fmt.Errorf("watch node: %w", err)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { podInformer.RunWithContext(ctx) })
	wg.Go(func() { nodeInformer.RunWithContext(ctx) })
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.HasSynced, nodeInformer.HasSynced) {
		return nil // ctx ended first
	}
	s.log.Info("node simulator running")

	for range workers {
		wg.Go(func() {
			for s.processNext(ctx) {
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			s.queue.ShutDown() // lets the workers return before wg.Wait
			return nil
		case <-heartbeat.C():
			s.heartbeatOnce(ctx)
		}
	}
}

// enqueuePod queues a pod the simulator may have to act on: unscheduled ones (to bind) and those
// on its node.
func (s *Simulator) enqueuePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || (pod.Spec.NodeName != "" && pod.Spec.NodeName != s.nodeName) {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(pod)
	if err != nil {
		return
	}
	s.queue.Add(key)
}

// podDeleted drops the memory of a pod that is gone, so a pod recreated under the same name
// starts afresh, as it has a new UID on a real node too.
func (s *Simulator) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.states, pod.UID)
	s.mu.Unlock()
	s.events.forget(pod.UID)
}

// processNext handles one queued pod; false means the queue was shut down.
func (s *Simulator) processNext(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	err := s.sync(ctx, key)
	switch {
	case err == nil:
		s.queue.Forget(key)
	case ctx.Err() != nil:
		// Shutting down: the error is the cancellation itself.
	default:
		s.log.Warn("pod sync failed, will retry", "pod", key, "err", err)
		s.queue.AddRateLimited(key)
	}
	return true
}

// sync does what the scheduler or kubelet would do next for the pod behind key.
func (s *Simulator) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key this simulator queued; retrying cannot help
	}
	pod, err := s.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case pod.Spec.NodeName == "":
		// An unscheduled pod being deleted is removed by the API server at once.
		if pod.DeletionTimestamp != nil {
			return nil
		}
		return s.schedule(ctx, pod)
	case pod.Spec.NodeName != s.nodeName:
		return nil
	case pod.DeletionTimestamp != nil:
		return s.finishDeletion(ctx, pod)
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return nil
	default:
		return s.syncPod(ctx, pod)
	}
}

// requeueAt asks for another sync of key at the given time on the simulator's clock.
func (s *Simulator) requeueAt(key string, at time.Time) {
	if d := at.Sub(s.clock.Now()); d > 0 {
		s.queue.AddAfter(key, d)
		return
	}
	s.queue.Add(key)
}

// ignoreGone turns the errors of a pod that was deleted, replaced (UID precondition) or bound
// elsewhere meanwhile into success: there is nothing left to do for it.
func ignoreGone(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
