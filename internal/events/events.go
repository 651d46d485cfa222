// Package events reports what the rotator did as Kubernetes Events on the objects it touched,
// so `kubectl describe secret` / `kubectl describe deployment` show it to the cluster's users.
// Events are written synchronously, or with Background by one sender behind the caller's back
// (Flush waits for it: a one-shot `rotate now` must not exit with events still queued). A failure
// to record one never fails a rotation.
package events

import (
	"k8s.io/apimachinery/pkg/types"

	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Reasons the rotator records.
const (
	ReasonRotated         = "CredentialRotated"
	ReasonRepaired        = "SecretRepaired"
	ReasonVerifyFailed    = "VerifyFailed"
	ReasonRestarted       = "RestartTriggered"
	ReasonRolloutTimedOut = "RolloutFailed"
	ReasonRevoked         = "CredentialRevoked"
	ReasonWriteFailed     = "WriteFailed"
	// ReasonAbandoned: a credential no longer authenticates (deleted, disabled, expired, renamed
	// at the provider) and is replaced in the same run.
	ReasonAbandoned = "CredentialAbandoned"
	// ReasonRevocationHeld: a retired credential is kept because a target namespace still holds it.
	ReasonRevocationHeld = "RevocationHeld"
	// ReasonBindingConflict: someone else (a GitOps tool) keeps removing the rotator's entry
	// from a ServiceAccount's imagePullSecrets; the rotator stopped re-adding it.
	ReasonBindingConflict = "BindingConflict"
	// ReasonBindingConflictResolved: the entry came back by another hand; no conflict any more.
	ReasonBindingConflictResolved = "BindingConflictResolved"
	reportingController           = "rotator.dev/rotator"
	sourceComponent               = "rotator"
)

// Recorder writes Events. A nil *Recorder records nothing.
type Recorder struct {
	Client   kubernetes.Interface
	Clock    clock.PassiveClock
	Logger   *slog.Logger
	Instance string // reporting instance, e.g. the pod name
	// Background queues events to one sender goroutine instead of writing each in the caller's
	// goroutine. A rotation records one event per Secret and per restarted workload: at 300
	// namespaces 900 of its 2,100 requests (bench/RESULTS.md). Queued, they never hold up the
	// writes; given a client from kubeclient.New, they also take none of the rate limit the
	// writes wait for, and catch up when the writers pause. Call Flush before exiting.
	Background bool

	queue queue
	// unreachable: the last Event could not reach the API server at all (no answer, no
	// connection: not a refusal, which is an answer); until then, Events are dropped without a
	// request (unreachable.go).
	unreachable unreachable
}

// Object identifies what an Event is about.
type Object struct {
	Kind, APIVersion, Namespace, Name string
	UID                               string
}

// Normal records an informational event.
func (r *Recorder) Normal(ctx context.Context, obj Object, reason, format string, args ...any) {
	r.record(ctx, obj, corev1.EventTypeNormal, reason, fmt.Sprintf(format, args...))
}

// Warning records a problem.
func (r *Recorder) Warning(ctx context.Context, obj Object, reason, format string, args ...any) {
	r.record(ctx, obj, corev1.EventTypeWarning, reason, fmt.Sprintf(format, args...))
}

func (r *Recorder) record(ctx context.Context, obj Object, typ, reason, msg string) {
	if r == nil || r.Client == nil || obj.Namespace == "" {
		return
	}
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	n := note{obj: obj, typ: typ, reason: reason, msg: msg, at: r.Clock.Now()}
	if r.Background {
		r.queue.add(ctx, n, r.send)
		return
	}
	r.send(ctx, n)
}

// note is an event as recorded: what the queue holds until its turn. The Event itself is built
// only when it is sent, since a run queues one per namespace while its writes take every token
// (10,000 at 10,000 namespaces), and a whole corev1.Event each is four times the size.
type note struct {
	obj              Object
	typ, reason, msg string
	at               time.Time
}

// event is the Event of n.
func (r *Recorder) event(n note) *corev1.Event {
	now := metav1.NewTime(n.at)
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// Unique per event, like client-go's recorder: object name + time.
			Name:      fmt.Sprintf("%s.%x", n.obj.Name, n.at.UnixNano()),
			Namespace: n.obj.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{Kind: n.obj.Kind, APIVersion: n.obj.APIVersion, Namespace: n.obj.Namespace, Name: n.obj.Name, UID: types.UID(n.obj.UID)},
		Reason:         n.reason, Message: n.msg, Type: n.typ,
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		Source:              corev1.EventSource{Component: sourceComponent},
		ReportingController: reportingController, ReportingInstance: r.Instance,
	}
}

// send writes one event; a failure is logged, never returned. The event outlives the
// cancellation of the run it reports on, and no deadline is put around it here: through a
// client from kubeclient.New it first waits for a token no write wants, which lasts as long as
// the writes do (a deadline dropped events while 300 namespaces were written at qps 50,
// bench/README.md). That client bounds the request itself (kubeclient.EventsTimeout).
func (r *Recorder) send(ctx context.Context, n note) {
	if r.unreachable.skip(r.Clock.Now()) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	ev := r.event(n)
	_, err := r.Client.CoreV1().Events(ev.Namespace).Create(ctx, ev, fieldmanager.Create())
	if err != nil && r.Logger != nil {
		r.Logger.Warn("could not record event", "namespace", ev.Namespace, "object", ev.InvolvedObject.Name, "reason", ev.Reason, "err", err)
	}
	if dropped, resumed := r.unreachable.after(err, r.Clock.Now()); resumed && r.Logger != nil {
		r.Logger.Warn("events dropped while the API server did not answer", "dropped", dropped)
	}
}

// WithUID is o with the object's UID: `kubectl describe` lists only the Events whose involved
// object carries the UID of the object described. An empty uid leaves o as it is.
func (o Object) WithUID(uid types.UID) Object {
	if uid != "" {
		o.UID = string(uid)
	}
	return o
}

// Secret is the Object of a Secret.
func Secret(ns, name string) Object {
	return Object{Kind: "Secret", APIVersion: "v1", Namespace: ns, Name: name}
}

// ServiceAccount is the Object of a ServiceAccount.
func ServiceAccount(ns, name string) Object {
	return Object{Kind: "ServiceAccount", APIVersion: "v1", Namespace: ns, Name: name}
}

// Workload is the Object of an apps/v1 workload.
func Workload(kind, ns, name string) Object {
	return Object{Kind: kind, APIVersion: "apps/v1", Namespace: ns, Name: name}
}
