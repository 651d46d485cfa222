package nodesim

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestBindsUnscheduledPod(t *testing.T) {
	h := newHarness(t, newPod("web", ""))
	h.start()

	pod := h.waitRunning("web")
	if pod.Spec.NodeName != defaultNodeName {
		t.Fatalf("nodeName = %q, want %q", pod.Spec.NodeName, defaultNodeName)
	}
	binds := h.actions("create", "pods", "binding")
	if len(binds) != 1 {
		t.Fatalf("%d bindings, want 1", len(binds))
	}
	b := binds[0].(k8stesting.CreateAction).GetObject().(*corev1.Binding)
	if b.Target.Kind != "Node" || b.Target.Name != defaultNodeName || b.UID != pod.UID {
		t.Errorf("binding = %+v, want target node %s and the pod's UID", b, defaultNodeName)
	}
	e := h.mustEvent("web", corev1.EventTypeNormal, "Scheduled", "Successfully assigned app/web to sim-node")
	if e.Source.Component != "default-scheduler" {
		t.Errorf("Scheduled event source = %+v", e.Source)
	}
}

func TestBindsDaemonSetPodOnlyForThisNode(t *testing.T) {
	dsPod := func(podName, nodeName string) *corev1.Pod {
		p := newPod(podName, "")
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchFields: []corev1.NodeSelectorRequirement{{
					Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName},
				}},
			}}},
		}}
		return p
	}
	h := newHarness(t, dsPod("ds-here", defaultNodeName), dsPod("ds-there", "other-node"))
	h.start()

	h.waitRunning("ds-here")
	// Both pods were queued at start; a sync of ds-there that binds would have happened by now.
	h.waitFor("queue drained", func() bool { return h.sim.queue.Len() == 0 })
	if got := h.pod("ds-there").Spec.NodeName; got != "" {
		t.Errorf("pod for other-node bound to %q", got)
	}
	for _, a := range h.actions("create", "pods", "binding") {
		if a.(k8stesting.CreateAction).GetObject().(*corev1.Binding).Name == "ds-there" {
			t.Errorf("ds-there was bound")
		}
	}
}

func TestRunningAfterSuccessfulPull(t *testing.T) {
	h := newHarness(t, newPod("web", defaultNodeName))
	h.start()

	pod := h.waitRunning("web")
	now := metav1.NewTime(epoch)
	if pod.Status.StartTime == nil || !pod.Status.StartTime.Equal(&now) {
		t.Errorf("startTime = %v, want %v", pod.Status.StartTime, now)
	}
	if pod.Status.HostIP != nodeIP || len(pod.Status.HostIPs) != 1 || pod.Status.HostIPs[0].IP != nodeIP {
		t.Errorf("hostIP = %q %v, want %s", pod.Status.HostIP, pod.Status.HostIPs, nodeIP)
	}
	if !strings.HasPrefix(pod.Status.PodIP, "10.244.") || len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != pod.Status.PodIP {
		t.Errorf("podIP = %q %v, want one in 10.244.0.0/16", pod.Status.PodIP, pod.Status.PodIPs)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if c := podCondition(pod.Status.Conditions, ct); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %+v, want True", ct, c)
		}
	}
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("containerStatuses = %+v", pod.Status.ContainerStatuses)
	}
	cs := pod.Status.ContainerStatuses[0]
	if !cs.Ready || cs.Started == nil || !*cs.Started || cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&now) || cs.Image != testImage {
		t.Errorf("container status = %+v, want ready and running since %v", cs, now)
	}

	wantImage := fmt.Sprintf("%q", testImage)
	for _, reason := range []string{"Pulling", "Pulled", "Created", "Started"} {
		e := h.mustEvent("web", corev1.EventTypeNormal, reason, "")
		if e.Source.Component != "kubelet" || e.Source.Host != defaultNodeName || e.InvolvedObject.FieldPath != "spec.containers{app}" {
			t.Errorf("%s event: source %+v fieldPath %q", reason, e.Source, e.InvolvedObject.FieldPath)
		}
	}
	h.mustEvent("web", corev1.EventTypeNormal, "Pulling", "Pulling image "+wantImage)
	if c := h.pulls.call(0); c.image != testImage {
		t.Errorf("pulled %q, want %q", c.image, testImage)
	}

	// A Running pod is not pulled again, and its status settles: a change to the pod brings it
	// back through the informer, without a new pull or status write.
	writes := len(h.actions("update", "pods", "status"))
	pod.Labels = map[string]string{"touched": "yes"}
	if _, err := h.client.CoreV1().Pods(testNS).Update(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the informer deliver the update

	h.waitFor("queue drained", func() bool { return h.sim.queue.Len() == 0 })
	if n := h.pulls.count(); n != 1 {
		t.Errorf("%d pulls, want 1", n)
	}
	if n := len(h.actions("update", "pods", "status")); n != writes {
		t.Errorf("%d status writes after Running, want %d", n, writes)
	}
}

func TestAdoptsRunningPodWithoutPulling(t *testing.T) {
	pod := newPod("old", defaultNodeName)
	started := metav1.NewTime(epoch.Add(-time.Hour))
	pod.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		PodIP:     "10.244.9.9",
		StartTime: &started,
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: testImage, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}},
	}
	h := newHarness(t, pod)
	h.start()

	h.waitFor("pod synced", func() bool {
		return podCondition(h.pod("old").Status.Conditions, corev1.PodReady) != nil
	})
	got := h.pod("old")
	if got.Status.Phase != corev1.PodRunning || got.Status.PodIP != "10.244.9.9" || !got.Status.ContainerStatuses[0].State.Running.StartedAt.Equal(&started) {
		t.Errorf("adopted status = %+v", got.Status)
	}
	if n := h.pulls.count(); n != 0 {
		t.Errorf("%d pulls of a running pod, want 0", n)
	}
}

func TestFailedPullBacksOffAndRecovers(t *testing.T) {
	h := newHarness(t, newPod("web", defaultNodeName))
	pullErr := errors.New("GET http://127.0.0.1:5000/v2/team/app/manifests/1: UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:team/app Type:repository]]")
	h.pulls.set(func(string, authn.Keychain) error { return pullErr })
	h.start()
	image := fmt.Sprintf("%q", testImage)

	// First failure: ErrImagePull with the registry's text, kubelet's two Failed events.
	pod := h.waitWaiting("web", reasonErrImagePull)
	if pod.Status.Phase != corev1.PodPending {
		t.Errorf("phase = %s, want Pending", pod.Status.Phase)
	}
	if w := pod.Status.ContainerStatuses[0].State.Waiting; w.Message != pullErr.Error() {
		t.Errorf("waiting message = %q, want the pull error", w.Message)
	}
	if c := podCondition(pod.Status.Conditions, corev1.PodReady); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotReady" {
		t.Errorf("Ready = %+v, want False ContainersNotReady", c)
	}
	failed := h.mustEvent("web", corev1.EventTypeWarning, "Failed", "Failed to pull image "+image+": "+pullErr.Error())
	if failed.Source.Component != "kubelet" || failed.Source.Host != defaultNodeName || failed.InvolvedObject.FieldPath != "spec.containers{app}" {
		t.Errorf("Failed event source %+v fieldPath %q", failed.Source, failed.InvolvedObject.FieldPath)
	}
	h.mustEvent("web", corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
	if h.event("web", corev1.EventTypeNormal, "BackOff", "") != nil {
		t.Errorf("BackOff event before the back-off was observed")
	}

	// Half way through the 1s back-off the container shows ImagePullBackOff, without a pull.
	h.clock.Step(500 * time.Millisecond)
	pod = h.waitWaiting("web", reasonImagePullBackOff)
	wantMsg := "Back-off pulling image " + image + ": ErrImagePull: " + pullErr.Error()
	if w := pod.Status.ContainerStatuses[0].State.Waiting; w.Message != wantMsg {
		t.Errorf("back-off message = %q, want %q", w.Message, wantMsg)
	}
	h.mustEvent("web", corev1.EventTypeNormal, "BackOff", "Back-off pulling image "+image)
	h.mustEvent("web", corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
	if n := h.pulls.count(); n != 1 {
		t.Fatalf("%d pulls during back-off, want 1", n)
	}

	// At the end of the back-off it pulls again and fails again; the repeat raises the count.
	h.clock.Step(500 * time.Millisecond)
	h.waitFor("second pull", func() bool { return h.pulls.count() == 2 })
	h.waitWaiting("web", reasonErrImagePull)
	h.waitFor("Failed event counted twice", func() bool {
		e := h.event("web", corev1.EventTypeWarning, "Failed", "Failed to pull image")
		return e != nil && e.Count == 2
	})

	// The registry accepts now. The back-off doubled to 2s: nothing happens at +1s but the
	// back-off display; at +2s the pull succeeds.
	h.pulls.set(nil)
	h.clock.Step(time.Second)
	h.waitWaiting("web", reasonImagePullBackOff)
	if n := h.pulls.count(); n != 2 {
		t.Fatalf("%d pulls before the doubled back-off ended, want 2", n)
	}
	h.clock.Step(time.Second)
	pod = h.waitRunning("web")
	if n := h.pulls.count(); n != 3 {
		t.Errorf("%d pulls, want 3", n)
	}
	if !pod.Status.ContainerStatuses[0].Ready {
		t.Errorf("container not ready after recovery")
	}
}

func TestKeychainFromPodPullSecretsReadAtEachPull(t *testing.T) {
	const registry = "127.0.0.1:5000"
	secret := func(ns, password string) *corev1.Secret {
		auth := base64.StdEncoding.EncodeToString([]byte("robot$team+ci:" + password))
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: ns},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil,
				`{"auths":{%q:{"username":"robot$team+ci","password":%q,"auth":%q}}}`, registry, password, auth)},
		}
	}
	pod := newPod("web", defaultNodeName)
	pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "missing"}, {Name: "regcred"}}
	// The same name in another namespace must not be read: secrets are namespace-scoped.
	h := newHarness(t, pod, secret(testNS, "old"), secret("other", "other-ns"))

	var seen []string // passwords the pulls authenticated with; guarded by h.pulls.mu
	h.pulls.set(func(image string, kc authn.Keychain) error {
		ref, err := name.ParseReference(image)
		if err != nil {
			return err
		}
		a, err := kc.Resolve(ref.Context())
		if err != nil {
			return err
		}
		cfg, err := a.Authorization()
		if err != nil {
			return err
		}
		if cfg.Username != "robot$team+ci" {
			return fmt.Errorf("username %q", cfg.Username)
		}
		seen = append(seen, cfg.Password)
		if cfg.Password != "new" {
			return errors.New("UNAUTHORIZED: authentication required")
		}
		return nil
	})
	h.start()

	h.waitWaiting("web", reasonErrImagePull)
	h.mustEvent("web", corev1.EventTypeWarning, "FailedToRetrieveImagePullSecret",
		"Unable to retrieve some image pull secrets (missing); attempting to pull the image may not succeed.")
	h.mustEvent("web", corev1.EventTypeWarning, "Failed", "UNAUTHORIZED: authentication required")

	// The keychain resolves only the secret's registry; others stay anonymous, as in kubelet.
	kc := h.pulls.call(0).keychain
	for _, other := range []string{"docker.io/library/busybox", "127.0.0.1:5001/team/app", "registry.example.com/team/app"} {
		ref, err := name.ParseReference(other)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(ref.Context())
		if err != nil || a != authn.Anonymous {
			t.Errorf("keychain for %s = %v, %v; want anonymous", other, a, err)
		}
	}

	// The rotator fixes the secret; the next retry reads it again and the pod runs.
	fixed := secret(testNS, "new")
	if _, err := h.client.CoreV1().Secrets(testNS).Update(context.Background(), fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.clock.Step(time.Second)
	h.waitRunning("web")
	h.pulls.mu.Lock()
	defer h.pulls.mu.Unlock()
	if strings.Join(seen, ",") != "old,new" {
		t.Errorf("pulls authenticated with %v, want [old new]", seen)
	}
}

func TestFinishesDeletionOfTerminatingPods(t *testing.T) {
	deleting := func(podName, nodeName string) *corev1.Pod {
		p := newPod(podName, nodeName)
		now := metav1.NewTime(epoch)
		p.DeletionTimestamp = &now
		p.DeletionGracePeriodSeconds = ptr.To[int64](30)
		return p
	}
	h := newHarness(t, deleting("old", defaultNodeName), deleting("elsewhere", "other-node"))
	h.start()

	h.waitFor("pod deleted", func() bool {
		_, err := h.client.CoreV1().Pods(testNS).Get(context.Background(), "old", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	dels := h.actions("delete", "pods", "")
	if len(dels) != 1 {
		t.Fatalf("%d deletes, want 1", len(dels))
	}
	d := dels[0].(k8stesting.DeleteAction)
	opts := d.GetDeleteOptions()
	if d.GetName() != "old" || opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0 ||
		opts.Preconditions == nil || opts.Preconditions.UID == nil || *opts.Preconditions.UID != "uid-old" {
		t.Errorf("delete %s with %+v, want grace 0 and UID precondition", d.GetName(), opts)
	}
	if _, err := h.client.CoreV1().Pods(testNS).Get(context.Background(), "elsewhere", metav1.GetOptions{}); err != nil {
		t.Errorf("pod of another node: %v", err)
	}
	if h.pulls.count() != 0 {
		t.Errorf("terminating pod was pulled")
	}
}

func TestRegistersNodeAndRenewsLease(t *testing.T) {
	h := newHarness(t)
	h.start()
	ctx := context.Background()

	var lease *coordinationv1.Lease
	h.waitFor("lease", func() bool {
		var err error
		lease, err = h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, defaultNodeName, metav1.GetOptions{})
		return err == nil
	})
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != defaultNodeName || !lease.Spec.RenewTime.Time.Equal(epoch) {
		t.Errorf("lease spec = %+v", lease.Spec)
	}
	var node *corev1.Node
	h.waitFor("node status", func() bool {
		var err error
		node, err = h.client.CoreV1().Nodes().Get(ctx, defaultNodeName, metav1.GetOptions{})
		return err == nil && nodeReady(node) != nil
	})
	if len(node.Spec.Taints) != 0 || node.Spec.Unschedulable {
		t.Errorf("node spec = %+v, want schedulable without taints", node.Spec)
	}
	if r := nodeReady(node); r.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %+v", r)
	}
	if q := node.Status.Allocatable[corev1.ResourcePods]; q.Value() < 100 {
		t.Errorf("allocatable pods = %s", q.String())
	}
	if node.Labels[corev1.LabelHostname] != defaultNodeName {
		t.Errorf("labels = %v", node.Labels)
	}

	h.clock.Step(heartbeatInterval)
	want := epoch.Add(heartbeatInterval)
	h.waitFor("lease renewed", func() bool {
		l, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, defaultNodeName, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime.Time.Equal(want)
	})
	h.waitFor("Ready heartbeat", func() bool {
		n, err := h.client.CoreV1().Nodes().Get(ctx, defaultNodeName, metav1.GetOptions{})
		r := nodeReady(n)
		return err == nil && r != nil && r.LastHeartbeatTime.Time.Equal(want) && r.LastTransitionTime.Time.Equal(epoch)
	})
}

func nodeReady(n *corev1.Node) *corev1.NodeCondition {
	if n == nil {
		return nil
	}
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func TestManyPods(t *testing.T) {
	// The fake clientset costs milliseconds per write (it rebuilds a REST mapper each time), so
	// a hundred pods are what a unit test affords; load on a real API server is for the rig.
	const n = 100
	var objs []*corev1.Pod
	h := newHarness(t)
	for i := range n {
		objs = append(objs, newPod(fmt.Sprintf("p%03d", i), ""))
	}
	for _, p := range objs {
		if _, err := h.client.CoreV1().Pods(testNS).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.start()

	h.waitFor("all pods Running", func() bool {
		list, err := h.client.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, p := range list.Items {
			if p.Status.Phase != corev1.PodRunning {
				return false
			}
		}
		return len(list.Items) == n
	})
	ips := map[string]bool{}
	list, _ := h.client.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{})
	for _, p := range list.Items {
		if ips[p.Status.PodIP] {
			t.Errorf("pod IP %s given twice", p.Status.PodIP)
		}
		ips[p.Status.PodIP] = true
	}
}

func TestBackoffDelay(t *testing.T) {
	s := New(Options{})
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if got := s.backoffDelay(i + 1); got != w*time.Second {
			t.Errorf("delay after %d failures = %v, want %v", i+1, got, w*time.Second)
		}
	}
}

func TestKubeletImageName(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                          "busybox:latest",
		"127.0.0.1:5000/team/app":          "127.0.0.1:5000/team/app:latest",
		"127.0.0.1:5000/team/app:1":        "127.0.0.1:5000/team/app:1",
		"127.0.0.1:5000/team/app@sha256:0": "127.0.0.1:5000/team/app@sha256:0",
	} {
		if got := kubeletImageName(in); got != want {
			t.Errorf("kubeletImageName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInitContainersRunFirst(t *testing.T) {
	const initImage = "127.0.0.1:5000/team/setup:1"
	pod := newPod("web", defaultNodeName)
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: initImage}}
	h := newHarness(t, pod)
	h.pulls.set(func(image string, _ authn.Keychain) error {
		if image == initImage {
			return errors.New("MANIFEST_UNKNOWN: manifest unknown")
		}
		return nil
	})
	h.start()

	h.waitFor("init container in ErrImagePull", func() bool {
		ics := h.pod("web").Status.InitContainerStatuses
		return len(ics) == 1 && ics[0].State.Waiting != nil && ics[0].State.Waiting.Reason == reasonErrImagePull
	})
	got := h.pod("web")
	if w := got.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != reasonPodInitializing {
		t.Errorf("app container = %+v, want waiting PodInitializing", got.Status.ContainerStatuses[0].State)
	}
	if c := podCondition(got.Status.Conditions, corev1.PodInitialized); c == nil || c.Status != corev1.ConditionFalse {
		t.Errorf("Initialized = %+v, want False", c)
	}
	if n := h.pulls.count(); n != 1 {
		t.Errorf("%d pulls before init completed, want 1", n)
	}

	h.pulls.set(nil)
	h.clock.Step(time.Second)
	got = h.waitRunning("web")
	if term := got.Status.InitContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("init container state = %+v, want terminated Completed", got.Status.InitContainerStatuses[0].State)
	}
	if a, b := h.pulls.call(1).image, h.pulls.call(2).image; a != initImage || b != testImage {
		t.Errorf("pulls after recovery: %s then %s, want init image first", a, b)
	}
}

// tickerlessClock hides the fake clock's NewTicker, as a Clock implementation of a caller might.
type tickerlessClock struct{ clock.Clock }

func TestTickerOnClockWithoutTicker(t *testing.T) {
	fc := testingclock.NewFakeClock(epoch)
	tk := withTicker(tickerlessClock{fc}).NewTicker(time.Second)
	defer tk.Stop()
	for i := range 2 {
		// Wait until the ticker's timer is armed, then fire it.
		deadline := time.Now().Add(5 * time.Second)
		for !fc.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatal("ticker never armed its timer")
			}
			time.Sleep(time.Millisecond)
		}
		fc.Step(time.Second)
		select {
		case <-tk.C():
		case <-time.After(5 * time.Second):
			t.Fatalf("tick %d not delivered", i+1)
		}
	}
}
