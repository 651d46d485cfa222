package restart

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Defaults applied to a zero Restarter field.
const (
	DefaultConcurrency = 10
	DefaultTimeout     = 5 * time.Minute
)

// Restarter rolls workloads by changing a pod-template annotation, the way
// `kubectl rollout restart` does, and waits for the rollouts by watching
// them (watch.go). The zero value of every field but Client is usable.
type Restarter struct {
	// Client talks to the cluster. It needs get and patch on the workloads'
	// resources, list and watch on them in their namespaces to follow the
	// rollouts, and list and delete on pods for Unstick.
	Client kubernetes.Interface
	// Concurrency bounds how many rollouts are in flight (started and not yet
	// complete), so a namespace with hundreds of workloads does not roll all
	// of them (and pull all their images) at the same moment. It bounds what
	// is started, not what is watched: every rollout in flight is awaited
	// from one shared watch per kind and namespace. Default 10.
	Concurrency int
	// Timeout bounds the wait for each rollout. Default 5m.
	Timeout time.Duration
	// Pacer, when set, caps how many patches start per minute. Share one
	// per process (NewPacer) so the cap holds across credentials; nil does
	// not pace. A workload that already carries the value takes no turn.
	Pacer *Pacer
	// Clock provides time; tests inject a fake one. Default the real clock.
	Clock clock.WithTicker
	// TrustSnapshot says the Workloads were discovered by this same run, so
	// their Annotations are recent: a workload whose snapshot lacks the value
	// is patched at once, without reading it first (one GET per workload
	// less, which at a client rate limit is time). If someone set the same
	// value in between, the patch changes nothing at the server and is still
	// reported as Patched. A workload whose snapshot already carries the value
	// is read all the same, so a template changed since is not skipped.
	TrustSnapshot bool
	// Progress, when set, is called once per workload as soon as it is
	// finished, for live output. Calls are serialized, so it need not be
	// safe for concurrent use; it must not block for long, as it holds up
	// the report of other workloads.
	Progress func(Result)

	hub *watchHub // set by Restart on its copy
}

// Result is the outcome for one workload.
type Result struct {
	Workload Workload
	// Patched is false when the template already carried the value: nothing
	// changed, no rollout was started by this call.
	Patched bool
	// Err is nil when the annotation is in place and (if waited for) the
	// rollout is complete.
	Err error
	// Duration is the time spent on this workload, patch and wait.
	Duration time.Duration
}

// Restart sets the pod-template annotation key=value on each workload and,
// if wait is true, waits for each rollout to complete. It returns one Result
// per workload, in the order of ws.
//
// A workload whose template already carries value is not patched, which
// makes Restart idempotent when value is a fingerprint of the credential:
// running it again starts no second rollout. Such a workload is still waited
// for, so a rerun after a timeout reports whether the earlier rollout has
// finished since.
func (r *Restarter) Restart(ctx context.Context, ws []Workload, key, value string, wait bool) []Result {
	cfg := r.withDefaults() // a copy, so Restart never writes to the caller's struct
	results := make([]Result, len(ws))
	if cfg.Client == nil {
		for i, w := range ws {
			results[i] = Result{Workload: w, Err: fmt.Errorf("%s: restart: no Kubernetes client configured", w)}
		}
		return results
	}
	// Concurrency workers take the workloads in order: a fixed pool rather than a goroutine per
	// workload blocked on a semaphore, which at 2,000 namespaces was 4,000 parked goroutines.
	// One hub for the call: rollouts in flight in one namespace share its watch.
	cfg.hub = newWatchHub(cfg.Client, cfg.Clock, cfg.Concurrency)
	defer cfg.hub.close()
	var (
		wg         sync.WaitGroup
		progressMu sync.Mutex
		next       atomic.Int64
	)
	for range min(cfg.Concurrency, len(ws)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ws) {
					return
				}
				w := ws[i]
				if ctx.Err() != nil { // nothing new starts once ctx has ended
					results[i] = Result{Workload: w, Err: fmt.Errorf("%s: not started: %w", w, ctx.Err())}
				} else {
					results[i] = cfg.restartOne(ctx, w, key, value, wait)
				}
				if cfg.Progress != nil {
					progressMu.Lock()
					cfg.Progress(results[i])
					progressMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return results
}

func (r *Restarter) withDefaults() *Restarter {
	c := *r
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return &c
}

func (r *Restarter) restartOne(ctx context.Context, w Workload, key, value string, wait bool) Result {
	start := r.Clock.Now()
	res := Result{Workload: w}
	var generation int64
	res.Patched, generation, res.Err = r.annotate(ctx, w, key, value)
	if res.Err == nil && wait {
		res.Err = r.hub.await(ctx, w, generation, r.Timeout)
	}
	res.Duration = r.Clock.Since(start)
	return res
}

// annotate sets the template annotation unless it already has the value.
//
// The live object is read first rather than trusting w.Annotations: the
// Workload may come from an earlier Discover and someone (a previous run,
// GitOps) may have changed the template since. (TrustSnapshot skips that read
// when the snapshot lacks the value; see there.) The read and the patch sit
// inside RetryOnConflict because the apiserver answers 409 when a patch
// loses too many races against other writers (its own retries are bounded);
// retrying re-reads, so a concurrent writer that set the same value turns
// the retry into a no-op.
//
// generation is the one the patch produced, so the wait can tell a status
// from before the patch from one after it; 0 when nothing was patched.
// Each patch waits for its turn at r.Pacer first (a conflict's retry does
// not take a second turn).
func (r *Restarter) annotate(ctx context.Context, w Workload, key, value string) (patched bool, generation int64, err error) {
	body, err := json.Marshal(map[string]any{
		"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{key: value},
		}}},
	})
	if err != nil {
		return false, 0, fmt.Errorf("%s: encoding patch: %w", w, err)
	}
	skipRead := r.TrustSnapshot && w.Annotations[key] != value
	paced := false
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !skipRead {
			current, err := r.templateAnnotations(ctx, w)
			if err != nil {
				return err
			}
			if v, ok := current[key]; ok && v == value {
				patched = false
				return nil
			}
		}
		skipRead = false // a retry reads the live object
		if !paced {
			if err := r.Pacer.Wait(ctx); err != nil {
				return fmt.Errorf("%s: not patched: %w", w, err)
			}
			paced = true
		}
		gen, err := r.patch(ctx, w, body)
		if err != nil {
			return apiError(w.String(), w.Kind, w.Namespace, "patch", err)
		}
		patched, generation = true, gen
		return nil
	})
	return patched, generation, err
}

func (r *Restarter) templateAnnotations(ctx context.Context, w Workload) (map[string]string, error) {
	apps := r.Client.AppsV1()
	var (
		ann map[string]string
		err error
	)
	switch w.Kind {
	case KindDeployment:
		o, e := apps.Deployments(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			ann = o.Spec.Template.Annotations
		}
	case KindStatefulSet:
		o, e := apps.StatefulSets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			ann = o.Spec.Template.Annotations
		}
	case KindDaemonSet:
		o, e := apps.DaemonSets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			ann = o.Spec.Template.Annotations
		}
	default:
		return nil, fmt.Errorf("%s: unsupported kind %q", w, w.Kind)
	}
	if err != nil {
		return nil, apiError(w.String(), w.Kind, w.Namespace, "get", err)
	}
	return ann, nil
}

// patch applies body and returns the generation of the patched object.
func (r *Restarter) patch(ctx context.Context, w Workload, body []byte) (int64, error) {
	apps := r.Client.AppsV1()
	var obj metav1.Object
	var err error
	switch w.Kind {
	case KindDeployment:
		obj, err = apps.Deployments(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, body, fieldmanager.Patch())
	case KindStatefulSet:
		obj, err = apps.StatefulSets(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, body, fieldmanager.Patch())
	case KindDaemonSet:
		obj, err = apps.DaemonSets(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, body, fieldmanager.Patch())
	default:
		return 0, fmt.Errorf("unsupported kind %q", w.Kind)
	}
	if err != nil || obj == nil {
		return 0, err
	}
	return obj.GetGeneration(), nil
}
