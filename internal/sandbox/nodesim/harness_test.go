package nodesim

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

const (
	testNS    = "app"
	testImage = "127.0.0.1:5000/team/app:1"
)

var (
	podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	epoch   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// harness runs a Simulator against a fake clientset, a fake clock and a fake pull.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	clock  *testingclock.FakeClock
	pulls  *fakePull
	sim    *Simulator
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		client: fake.NewClientset(objs...),
		clock:  testingclock.NewFakeClock(epoch),
		pulls:  &fakePull{},
	}
	h.client.PrependReactor("create", "pods", h.bindReactor)
	h.sim = New(Options{
		Client: h.client,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Pull:   h.pulls.pull,
		Clock:  h.clock,
	})
	return h
}

// bindReactor does what the API server does for pods/binding, which the fake clientset does not:
// set spec.nodeName and PodScheduled.
func (h *harness) bindReactor(a k8stesting.Action) (bool, runtime.Object, error) {
	ca, ok := a.(k8stesting.CreateAction)
	if !ok || ca.GetSubresource() != "binding" {
		return false, nil, nil
	}
	b := ca.GetObject().(*corev1.Binding)
	obj, err := h.client.Tracker().Get(podsGVR, b.Namespace, b.Name)
	if err != nil {
		return true, nil, err
	}
	pod := obj.(*corev1.Pod).DeepCopy()
	if b.UID != "" && b.UID != pod.UID {
		return true, nil, apierrors.NewConflict(podsGVR.GroupResource(), b.Name, fmt.Errorf("uid mismatch"))
	}
	if pod.Spec.NodeName != "" {
		return true, nil, apierrors.NewConflict(podsGVR.GroupResource(), b.Name,
			fmt.Errorf("pod %s is already assigned to node %q", b.Name, pod.Spec.NodeName))
	}
	pod.Spec.NodeName = b.Target.Name
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(epoch),
	})
	return true, b, h.client.Tracker().Update(podsGVR, pod, b.Namespace)
}

// start runs the simulator until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.sim.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run returned %v", err)
		}
	})
}

// waitFor polls cond in real time: the simulator works in goroutines even under a fake clock.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) pod(name string) *corev1.Pod {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitWaiting waits until the named pod's first container waits with reason.
func (h *harness) waitWaiting(name, reason string) *corev1.Pod {
	h.t.Helper()
	var pod *corev1.Pod
	h.waitFor(fmt.Sprintf("pod %s waiting with %s", name, reason), func() bool {
		pod = h.pod(name)
		cs := pod.Status.ContainerStatuses
		return len(cs) > 0 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == reason
	})
	return pod
}

func (h *harness) waitRunning(name string) *corev1.Pod {
	h.t.Helper()
	var pod *corev1.Pod
	h.waitFor("pod "+name+" Running", func() bool {
		pod = h.pod(name)
		return pod.Status.Phase == corev1.PodRunning
	})
	return pod
}

// event returns the event on the pod with that type and reason whose message contains msg.
func (h *harness) event(podName, eventType, reason, msg string) *corev1.Event {
	h.t.Helper()
	list, err := h.client.CoreV1().Events(testNS).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatalf("list events: %v", err)
	}
	for i := range list.Items {
		e := &list.Items[i]
		if e.InvolvedObject.Name == podName && e.Type == eventType && e.Reason == reason && strings.Contains(e.Message, msg) {
			return e
		}
	}
	return nil
}

func (h *harness) mustEvent(podName, eventType, reason, msg string) *corev1.Event {
	h.t.Helper()
	e := h.event(podName, eventType, reason, msg)
	if e == nil {
		h.t.Fatalf("no %s event %s %q on pod %s", eventType, reason, msg, podName)
	}
	return e
}

// actions returns the recorded client actions with that verb, resource and subresource.
func (h *harness) actions(verb, resource, subresource string) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range h.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == subresource {
			out = append(out, a)
		}
	}
	return out
}

// fakePull records pulls and answers with result, which tests may change.
type fakePull struct {
	mu     sync.Mutex
	result func(image string, kc authn.Keychain) error
	calls  []pullCall
}

type pullCall struct {
	image    string
	keychain authn.Keychain
}

func (f *fakePull) pull(_ context.Context, image string, kc authn.Keychain) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, pullCall{image, kc})
	if f.result == nil {
		return nil
	}
	return f.result(image, kc)
}

func (f *fakePull) set(result func(image string, kc authn.Keychain) error) {
	f.mu.Lock()
	f.result = result
	f.mu.Unlock()
}

func (f *fakePull) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakePull) call(i int) pullCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[i]
}

// newPod returns a pod with one container of testImage, bound to nodeName ("" = unscheduled).
func newPod(name, nodeName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName:   nodeName,
			Containers: []corev1.Container{{Name: "app", Image: testImage}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
}
