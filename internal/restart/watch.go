package restart

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Rollouts are awaited from watches, never by reading each workload again: one LIST and one
// WATCH per (kind, namespace) that has a rollout in flight, shared by every rollout awaited
// there. A namespace of 50 Deployments rolling at once costs one watch, not 50 pollers, and a
// rollout that completes is seen when the controller writes its status, not a poll later.
//
// A stream is per namespace rather than cluster-wide so that it needs list and watch only where
// the rotator patches (deploy/namespaced grants them per target namespace). It lives while some
// rollout of its namespace is awaited, and then among the few most recently idle (as many as
// restart.concurrency), so the next rollout of the same namespace (workloads come in namespace
// order) reuses it instead of listing again. Open watches thus stay near twice the rollouts in
// flight, not the number of target namespaces; all end with the Restart call.

// watchRetryMax bounds the pause before reopening a watch that failed for a transient reason
// (timeout, 5xx, throttling). Each rollout's own timeout still bounds the wait.
const (
	watchRetryFirst = 100 * time.Millisecond
	watchRetryMax   = 5 * time.Second
)

type streamKey struct {
	kind      Kind
	namespace string
}

// watchHub owns the streams of one Restart call.
type watchHub struct {
	client kubernetes.Interface
	clock  clock.Clock

	mu      sync.Mutex
	streams map[streamKey]*stream
	idle    []*stream // streams without waiters, oldest first, at most maxIdle
	maxIdle int
}

// stream is the shared view of one kind in one namespace. All fields are guarded by hub.mu.
type stream struct {
	key     streamKey
	cancel  context.CancelFunc
	waiters map[string]map[*waiter]bool // by workload name
	objs    map[string]observed         // the latest state of each object seen, by name
	lastErr error                       // the last transient LIST/WATCH failure, for a timeout's message
}

// observed is one object as the stream last saw it.
type observed struct {
	generation int64
	state      rolloutState
}

// waiter is one rollout awaited.
type waiter struct {
	w Workload
	// minGeneration: states of an older generation are from before this run's patch (a stream
	// opened for another rollout may have seen the object earlier) and say nothing about it.
	minGeneration int64
	done          chan struct{}
	st            rolloutState // guarded by hub.mu
	err           error        // set once, before done closes
	finished      bool
}

func newWatchHub(client kubernetes.Interface, clk clock.Clock, maxIdle int) *watchHub {
	return &watchHub{client: client, clock: clk, streams: map[streamKey]*stream{}, maxIdle: maxIdle}
}

// close ends every stream; the Restart call is over.
func (h *watchHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.streams {
		s.cancel()
	}
	h.streams, h.idle = map[streamKey]*stream{}, nil
}

// retire ends s and forgets it; h.mu is held.
func (h *watchHub) retire(s *stream) {
	h.unidle(s)
	if h.streams[s.key] == s {
		delete(h.streams, s.key)
	}
	s.cancel()
}

// unidle takes s off the idle list; h.mu is held.
func (h *watchHub) unidle(s *stream) {
	for i, x := range h.idle {
		if x == s {
			h.idle = append(h.idle[:i], h.idle[i+1:]...)
			return
		}
	}
}

// await blocks until w's rollout is complete, a terminal condition shows, ctx ends or timeout
// passes. minGeneration is the generation the patch produced (0 when nothing was patched).
func (h *watchHub) await(ctx context.Context, w Workload, minGeneration int64, timeout time.Duration) error {
	switch w.Kind {
	case KindDeployment, KindStatefulSet, KindDaemonSet:
	default:
		return fmt.Errorf("%s: unsupported kind %q", w, w.Kind)
	}
	wt := &waiter{w: w, minGeneration: minGeneration, done: make(chan struct{}), st: rolloutState{msg: "no status read yet"}}
	s := h.join(ctx, wt)
	defer h.leave(s, wt)

	deadline := h.clock.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case <-wt.done:
		return wt.err
	case <-ctx.Done():
		h.mu.Lock()
		msg := wt.st.msg
		h.mu.Unlock()
		return fmt.Errorf("%s: waiting for rollout: %w (%s)", w, ctx.Err(), msg)
	case <-deadline.C():
		h.mu.Lock()
		msg := wt.st.msg
		if s.lastErr != nil {
			msg = fmt.Sprintf("%s; last watch failed: %v", msg, s.lastErr)
		}
		h.mu.Unlock()
		return fmt.Errorf("%s: %w after %s: %s", w, ErrRolloutTimeout, shortDuration(timeout), msg)
	}
}

// join registers wt with the stream of its kind and namespace, starting the stream if none runs.
// The stream runs under ctx of the waiter that starts it (all waiters of a Restart call share
// one) until its last waiter leaves.
func (h *watchHub) join(ctx context.Context, wt *waiter) *stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := streamKey{wt.w.Kind, wt.w.Namespace}
	s := h.streams[key]
	if s == nil {
		sctx, cancel := context.WithCancel(ctx)
		s = &stream{key: key, cancel: cancel, waiters: map[string]map[*waiter]bool{}, objs: map[string]observed{}}
		h.streams[key] = s
		go h.run(sctx, s)
	}
	h.unidle(s)
	if s.waiters[wt.w.Name] == nil {
		s.waiters[wt.w.Name] = map[*waiter]bool{}
	}
	s.waiters[wt.w.Name][wt] = true
	if o, ok := s.objs[wt.w.Name]; ok {
		h.deliver(wt, o)
	}
	return s
}

// leave unregisters wt. A stream left without waiters joins the idle list, whose oldest member
// is retired when the list is over maxIdle.
func (h *watchHub) leave(s *stream, wt *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(s.waiters[wt.w.Name], wt)
	if len(s.waiters[wt.w.Name]) == 0 {
		delete(s.waiters, wt.w.Name)
	}
	if len(s.waiters) > 0 || h.streams[s.key] != s {
		return
	}
	h.idle = append(h.idle, s)
	for len(h.idle) > h.maxIdle {
		h.retire(h.idle[0])
	}
}

// deliver hands an observation to a waiter; h.mu is held.
func (h *watchHub) deliver(wt *waiter, o observed) {
	if wt.finished || o.generation < wt.minGeneration {
		return
	}
	wt.st = o.state
	switch {
	case o.state.done:
		h.finish(wt, nil)
	case o.state.err != nil:
		h.finish(wt, fmt.Errorf("%s: %w", wt.w, o.state.err))
	}
}

// finish ends a waiter once; h.mu is held.
func (h *watchHub) finish(wt *waiter, err error) {
	if wt.finished {
		return
	}
	wt.finished, wt.err = true, err
	close(wt.done)
}

// update records an object seen by LIST or WATCH and tells its waiters.
func (h *watchHub) update(s *stream, name string, o observed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.objs[name] = o
	for wt := range s.waiters[name] {
		h.deliver(wt, o)
	}
}

// gone ends the waiters of an object that no longer exists.
func (h *watchHub) gone(s *stream, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(s.objs, name)
	for wt := range s.waiters[name] {
		h.finish(wt, h.notFound(wt.w))
	}
}

func (h *watchHub) notFound(w Workload) error {
	gr := appsv1.Resource(w.Kind.plural())
	return apiError(w.String(), w.Kind, w.Namespace, "watch", apierrors.NewNotFound(gr, w.Name))
}

// relisted replaces the stream's view with a complete LIST: an awaited object absent from it was
// deleted (before the stream opened, or while a watch was down).
func (h *watchHub) relisted(s *stream, objs map[string]observed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.objs, s.lastErr = objs, nil
	for name, ws := range s.waiters {
		o, ok := objs[name]
		for wt := range ws {
			if ok {
				h.deliver(wt, o)
			} else {
				h.finish(wt, h.notFound(wt.w))
			}
		}
	}
}

// failAll ends every waiter of s with err (missing RBAC, the namespace is gone) and retires the
// stream: a later rollout in the namespace opens a new one.
func (h *watchHub) failAll(s *stream, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ws := range s.waiters {
		for wt := range ws {
			h.finish(wt, fmt.Errorf("%s: waiting for rollout: %w", wt.w, err))
		}
	}
	h.retire(s)
}

func (h *watchHub) transient(s *stream, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.lastErr = err
}

// run keeps the stream's view current until ctx ends: LIST, then WATCH from the list's
// resourceVersion, reopening the watch from the last version seen when it closes (the API server
// ends watches after a few minutes) and listing again when that version has expired (410 Gone).
func (h *watchHub) run(ctx context.Context, s *stream) {
	pause := watchRetryFirst
	rv := "" // "" = list first
	for ctx.Err() == nil {
		if rv == "" {
			objs, listRV, err := h.list(ctx, s.key)
			if err != nil {
				if !h.retry(ctx, s, err, "list", &pause) {
					return
				}
				continue
			}
			h.relisted(s, objs)
			rv = listRV
		}
		wi, err := h.watch(ctx, s.key, rv)
		if err != nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = ""
				continue
			}
			if !h.retry(ctx, s, err, "watch", &pause) {
				return
			}
			continue
		}
		var progressed bool
		rv, progressed = h.consume(ctx, s, wi, rv)
		if progressed {
			pause = watchRetryFirst
		} else if !h.sleep(ctx, &pause) { // a watch that ends at once must not spin
			return
		}
	}
}

// retry records a failed LIST or WATCH and pauses before the next attempt. It returns false when
// the stream must end: ctx ended, or the error is one that waiting does not fix.
func (h *watchHub) retry(ctx context.Context, s *stream, err error, verb string, pause *time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if fatalGetError(err) {
		h.failAll(s, apiError(fmt.Sprintf("%s in namespace %s", s.key.kind.plural(), s.key.namespace), s.key.kind, s.key.namespace, verb, err))
		return false
	}
	h.transient(s, fmt.Errorf("%s %s in namespace %s: %w", verb, s.key.kind.plural(), s.key.namespace, err))
	return h.sleep(ctx, pause)
}

func (h *watchHub) sleep(ctx context.Context, pause *time.Duration) bool {
	t := h.clock.NewTimer(*pause)
	defer t.Stop()
	*pause = min(2**pause, watchRetryMax)
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// consume applies a watch's events until it closes or ctx ends. It returns the resourceVersion
// to resume from ("" to list again) and whether any event came.
func (h *watchHub) consume(ctx context.Context, s *stream, wi watch.Interface, rv string) (string, bool) {
	defer wi.Stop()
	progressed := false
	for {
		select {
		case <-ctx.Done():
			return rv, progressed
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return rv, progressed
			}
			progressed = true
			switch ev.Type {
			case watch.Added, watch.Modified:
				if name, o, objRV, ok := evaluate(ev.Object); ok {
					h.update(s, name, o)
					rv = objRV
				}
			case watch.Deleted:
				if m, err := metaOf(ev.Object); err == nil {
					h.gone(s, m.GetName())
					rv = m.GetResourceVersion()
				}
			case watch.Bookmark:
				if m, err := metaOf(ev.Object); err == nil {
					rv = m.GetResourceVersion()
				}
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return "", progressed // our version is older than the server keeps: list again
				}
				h.transient(s, fmt.Errorf("watch %s in namespace %s: %w", s.key.kind.plural(), s.key.namespace, err))
				return rv, false
			}
		}
	}
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	if m, ok := obj.(metav1.Object); ok {
		return m, nil
	}
	return nil, fmt.Errorf("unexpected watch object %T", obj)
}

// evaluate applies the completion rule of the object's kind.
func evaluate(obj runtime.Object) (name string, o observed, rv string, ok bool) {
	switch x := obj.(type) {
	case *appsv1.Deployment:
		return x.Name, observed{x.Generation, deploymentRollout(x)}, x.ResourceVersion, true
	case *appsv1.StatefulSet:
		return x.Name, observed{x.Generation, statefulSetRollout(x)}, x.ResourceVersion, true
	case *appsv1.DaemonSet:
		return x.Name, observed{x.Generation, daemonSetRollout(x)}, x.ResourceVersion, true
	}
	return "", observed{}, "", false
}

// list reads every object of the kind in the namespace once.
func (h *watchHub) list(ctx context.Context, key streamKey) (map[string]observed, string, error) {
	apps := h.client.AppsV1()
	objs := map[string]observed{}
	var items []runtime.Object
	var rv string
	switch key.kind {
	case KindDeployment:
		l, err := apps.Deployments(key.namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, "", err
		}
		for i := range l.Items {
			items = append(items, &l.Items[i])
		}
		rv = l.ResourceVersion
	case KindStatefulSet:
		l, err := apps.StatefulSets(key.namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, "", err
		}
		for i := range l.Items {
			items = append(items, &l.Items[i])
		}
		rv = l.ResourceVersion
	case KindDaemonSet:
		l, err := apps.DaemonSets(key.namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, "", err
		}
		for i := range l.Items {
			items = append(items, &l.Items[i])
		}
		rv = l.ResourceVersion
	}
	for _, it := range items {
		if name, o, _, ok := evaluate(it); ok {
			objs[name] = o
		}
	}
	return objs, rv, nil
}

// watch opens a watch on the kind in the namespace from rv. Bookmarks keep rv recent in a
// namespace where nothing else changes, so a reopened watch seldom finds it expired.
func (h *watchHub) watch(ctx context.Context, key streamKey, rv string) (watch.Interface, error) {
	opts := metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}
	apps := h.client.AppsV1()
	switch key.kind {
	case KindDeployment:
		return apps.Deployments(key.namespace).Watch(ctx, opts)
	case KindStatefulSet:
		return apps.StatefulSets(key.namespace).Watch(ctx, opts)
	case KindDaemonSet:
		return apps.DaemonSets(key.namespace).Watch(ctx, opts)
	}
	return nil, fmt.Errorf("unsupported kind %q", key.kind)
}
