package nodesim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// eventSource is who an event claims to come from.
type eventSource struct {
	component string // Source.Component and ReportingController
	onNode    bool   // whether Source.Host is the node, as for kubelet
}

var (
	kubeletSource   = eventSource{component: "kubelet", onNode: true}
	schedulerSource = eventSource{component: "default-scheduler"}
)

// eventRecorder writes core/v1 Events on pods synchronously, so an event exists before the
// status change that follows it. A repeat of the same event on the same pod raises the count of
// the first, as kubelet's event correlator does, instead of piling up objects. Unlike client-go's
// recorder it has no spam filter, which would drop the events of a pull retried every second.
type eventRecorder struct {
	client kubernetes.Interface
	clock  clock.PassiveClock
	node   string
	log    *slog.Logger

	mu       sync.Mutex
	lastNano int64                                 // keeps generated names unique under a fake clock
	seen     map[types.UID]map[eventKey]*seenEvent // by pod UID
}

type eventKey struct {
	component, fieldPath, eventType, reason, message string
}

type seenEvent struct {
	name  string
	count int32
}

func newEventRecorder(client kubernetes.Interface, clk clock.PassiveClock, node string, log *slog.Logger) *eventRecorder {
	return &eventRecorder{client: client, clock: clk, node: node, log: log, seen: map[types.UID]map[eventKey]*seenEvent{}}
}

// emit records an event on pod, fieldPath naming the container if any. Events are best effort,
// as in kubelet: a failure is logged and does not fail the sync.
func (r *eventRecorder) emit(ctx context.Context, pod *corev1.Pod, src eventSource, fieldPath, eventType, reason, message string) {
	key := eventKey{src.component, fieldPath, eventType, reason, message}
	now := metav1.NewTime(r.clock.Now())

	r.mu.Lock()
	prev := r.seen[pod.UID][key]
	var name string
	var count int32 = 1
	if prev != nil {
		prev.count++
		name, count = prev.name, prev.count
	}
	r.mu.Unlock()

	if prev != nil {
		err := r.bump(ctx, pod.Namespace, name, count, now)
		if err == nil {
			return
		}
		if !apierrors.IsNotFound(err) { // expired events are recreated below
			r.log.Warn("update event failed", "pod", podKey(pod), "reason", reason, "err", err)
			return
		}
		count = 1
	}

	r.mu.Lock()
	nano := now.UnixNano()
	if nano <= r.lastNano {
		nano = r.lastNano + 1
	}
	r.lastNano = nano
	name = fmt.Sprintf("%s.%x", pod.Name, nano) // the naming of client-go's recorder
	r.mu.Unlock()

	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: fieldPath,
		},
		Reason:              reason,
		Message:             message,
		Type:                eventType,
		Source:              corev1.EventSource{Component: src.component},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               count,
		ReportingController: src.component,
		ReportingInstance:   src.component,
	}
	if src.onNode {
		ev.Source.Host = r.node
		ev.ReportingInstance = r.node
	}
	if _, err := r.client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		r.log.Warn("create event failed", "pod", podKey(pod), "reason", reason, "err", err)
		return
	}
	r.mu.Lock()
	if r.seen[pod.UID] == nil {
		r.seen[pod.UID] = map[eventKey]*seenEvent{}
	}
	r.seen[pod.UID][key] = &seenEvent{name: name, count: count}
	r.mu.Unlock()
}

// bump raises the count of an existing event with a merge patch, which needs no resourceVersion.
func (r *eventRecorder) bump(ctx context.Context, ns, name string, count int32, now metav1.Time) error {
	patch, err := json.Marshal(map[string]any{"count": count, "lastTimestamp": now})
	if err != nil {
		return err
	}
	_, err = r.client.CoreV1().Events(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// forget drops the aggregation state of a deleted pod.
func (r *eventRecorder) forget(uid types.UID) {
	r.mu.Lock()
	delete(r.seen, uid)
	r.mu.Unlock()
}
