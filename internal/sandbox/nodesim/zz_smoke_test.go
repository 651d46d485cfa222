package nodesim

// TEMPORARY smoke test against a real kube-apiserver; deleted after use.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestZZSmoke(t *testing.T) {
	kc := os.Getenv("NODESIM_SMOKE_KUBECONFIG")
	if kc == "" {
		t.Skip("no kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	client := kubernetes.NewForConfigOrDie(cfg)
	const user, pass = "robot$team+ci", "s3cret"
	_, host := startRegistry(t, user, pass)
	image := host + "/team/app:v1"

	var logs syncBuf
	sim := New(Options{Client: client, Logger: slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), &logs), nil)), Insecure: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()

	bg := context.Background()
	ns := fmt.Sprintf("smoke-%d", time.Now().Unix())
	_, _ = client.CoreV1().Namespaces().Create(bg, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	secret := func(n, pw string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"username":%q,"password":%q}}}`, host, user, pw)}}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = client.CoreV1().Secrets(ns).Create(bg, secret("regcred", pass), metav1.CreateOptions{})
	must(err)
	_, err = client.CoreV1().Secrets(ns).Create(bg, secret("badcred", "old"), metav1.CreateOptions{})
	must(err)

	tmpl := func(app, sec string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				ImagePullSecrets: []corev1.LocalObjectReference{{Name: sec}},
				Containers:       []corev1.Container{{Name: "app", Image: image}},
			},
		}
	}
	deploy := func(n, sec string, replicas int32) {
		_, err := client.AppsV1().Deployments(ns).Create(bg, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": n}}, Template: tmpl(n, sec)},
		}, metav1.CreateOptions{})
		must(err)
	}
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timeout: %s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("OK: %s", what)
	}
	deployReady := func(n string, want int32) func() bool {
		return func() bool {
			d, err := client.AppsV1().Deployments(ns).Get(bg, n, metav1.GetOptions{})
			if err != nil {
				return false
			}
			pods, _ := client.CoreV1().Pods(ns).List(bg, metav1.ListOptions{LabelSelector: "app=" + n})
			return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == want && d.Status.ReadyReplicas == want && d.Status.AvailableReplicas == want && len(pods.Items) == int(want)
		}
	}

	start := time.Now()
	deploy("good", "regcred", 3)
	deploy("bad", "badcred", 1)
	waitFor("good deployment ready", 60*time.Second, deployReady("good", 3))
	t.Logf("good ready after %v", time.Since(start))

	badPod := func() *corev1.Pod {
		pods, _ := client.CoreV1().Pods(ns).List(bg, metav1.ListOptions{LabelSelector: "app=bad"})
		if len(pods.Items) == 0 {
			return nil
		}
		return &pods.Items[0]
	}
	reason := func(p *corev1.Pod) string {
		if p == nil || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
			return ""
		}
		return p.Status.ContainerStatuses[0].State.Waiting.Reason
	}
	waitFor("bad ErrImagePull", 30*time.Second, func() bool { return reason(badPod()) == "ErrImagePull" })
	waitFor("bad ImagePullBackOff", 30*time.Second, func() bool { return reason(badPod()) == "ImagePullBackOff" })
	evs, _ := client.CoreV1().Events(ns).List(bg, metav1.ListOptions{FieldSelector: "involvedObject.name=" + badPod().Name})
	for _, e := range evs.Items {
		t.Logf("event %s %s %q count=%d src=%v", e.Type, e.Reason, e.Message, e.Count, e.Source)
	}
	t.Logf("bad pod waiting: %+v", badPod().Status.ContainerStatuses[0].State.Waiting)

	_, err = client.CoreV1().Secrets(ns).Update(bg, secret("badcred", pass), metav1.UpdateOptions{})
	must(err)
	waitFor("bad recovers after secret fix", 30*time.Second, deployReady("bad", 1))

	// rollout restart
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))
	_, err = client.AppsV1().Deployments(ns).Patch(bg, "good", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	must(err)
	time.Sleep(time.Second)
	waitFor("good rolled", 60*time.Second, deployReady("good", 3))

	_, err = client.AppsV1().DaemonSets(ns).Create(bg, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: ns},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ds"}}, Template: tmpl("ds", "regcred")},
	}, metav1.CreateOptions{})
	must(err)
	waitFor("ds ready", 60*time.Second, func() bool {
		d, err := client.AppsV1().DaemonSets(ns).Get(bg, "ds", metav1.GetOptions{})
		return err == nil && d.Status.DesiredNumberScheduled == 1 && d.Status.NumberReady == 1 && d.Status.NumberAvailable == 1
	})
	_, err = client.AppsV1().StatefulSets(ns).Create(bg, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "sts", Namespace: ns},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sts"}}, Template: tmpl("sts", "regcred")},
	}, metav1.CreateOptions{})
	must(err)
	waitFor("sts ready", 60*time.Second, func() bool {
		d, err := client.AppsV1().StatefulSets(ns).Get(bg, "sts", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 2 && d.Status.AvailableReplicas == 2
	})
	patch = fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"x":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	_, err = client.AppsV1().StatefulSets(ns).Patch(bg, "sts", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	must(err)
	time.Sleep(time.Second)
	waitFor("sts rolled", 60*time.Second, func() bool {
		d, err := client.AppsV1().StatefulSets(ns).Get(bg, "sts", metav1.GetOptions{})
		return err == nil && d.Status.UpdatedReplicas == 2 && d.Status.ReadyReplicas == 2 && d.Status.CurrentRevision == d.Status.UpdateRevision
	})

	// scale to many
	deploy("many", "regcred", 150)
	start = time.Now()
	waitFor("many ready", 180*time.Second, deployReady("many", 150))
	t.Logf("150 pods ready in %v", time.Since(start))

	time.Sleep(75 * time.Second)
	node, err := client.CoreV1().Nodes().Get(bg, "sim-node", metav1.GetOptions{})
	must(err)
	all, _ := client.CoreV1().Pods(ns).List(bg, metav1.ListOptions{})
	running := 0
	for _, p := range all.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running++
		}
	}
	t.Logf("after 75s idle: %d pods, %d running", len(all.Items), running)
	t.Logf("node taints=%v conds=%v", node.Spec.Taints, node.Status.Conditions)

	// idle: count status writes should settle - check resourceVersion stable for a pod
	pods, _ := client.CoreV1().Pods(ns).List(bg, metav1.ListOptions{LabelSelector: "app=good"})
	rv := pods.Items[0].ResourceVersion
	time.Sleep(3 * time.Second)
	p, _ := client.CoreV1().Pods(ns).Get(bg, pods.Items[0].Name, metav1.GetOptions{})
	if p.ResourceVersion != rv {
		t.Errorf("pod status keeps changing: %s -> %s", rv, p.ResourceVersion)
	}
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("simulator warned")
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "level=WARN") {
				t.Log(l)
			}
		}
	}
}
