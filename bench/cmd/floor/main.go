// Command floor is the benchmark's lower bound: the fewest API requests that reach the end state
// a rotation must reach in each namespace, and nothing else. Per namespace it makes one
// server-side apply of the pull Secret, one patch of the ServiceAccount's imagePullSecrets and
// one pod-template annotation patch per Deployment; no reads, no events, no verification, no
// waiting. It runs at the client rate limit and concurrency it is given (the rotator's defaults
// in the benchmark), so the rotator's extra work shows as the ratio between the two.
//
// The .dockerconfigjson content is read from a file, never from the arguments.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type options struct {
	kubeconfig, namespaces, dockerConfig string
	secret, serviceAccount, deployments  string
	annotation, value                    string
	qps                                  float64
	burst, concurrency                   int
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the identity to write as")
	flag.StringVar(&o.namespaces, "namespaces", "", "file with one target namespace per line")
	flag.StringVar(&o.dockerConfig, "dockerconfig", "", "file holding the .dockerconfigjson value to write")
	flag.StringVar(&o.secret, "secret", "harbor-pull", "name of the pull Secret")
	flag.StringVar(&o.serviceAccount, "serviceaccount", "default", "ServiceAccount to bind the Secret to")
	flag.StringVar(&o.deployments, "deployments", "direct,via-sa", "comma-separated Deployments to restart in each namespace")
	flag.StringVar(&o.annotation, "annotation", "bench.rotator.dev/restarted", "pod-template annotation that restarts a Deployment")
	flag.StringVar(&o.value, "value", "", "its value (a new value starts a rollout)")
	flag.Float64Var(&o.qps, "qps", 50, "client rate limit, requests per second")
	flag.IntVar(&o.burst, "burst", 100, "client rate limit burst")
	flag.IntVar(&o.concurrency, "concurrency", 10, "namespaces written at once")
	flag.Parse()
	n, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Printf("{\"namespaces\":%d}\n", n)
}

func run(ctx context.Context, o options) (int, error) {
	if o.value == "" {
		return 0, fmt.Errorf("-value is required")
	}
	nss, err := readLines(o.namespaces)
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(o.dockerConfig)
	if err != nil {
		return 0, err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return 0, err
	}
	rc.QPS, rc.Burst, rc.UserAgent = float32(o.qps), o.burst, "rotator-bench-floor"
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return 0, err
	}
	bind, _ := json.Marshal(map[string]any{"imagePullSecrets": []map[string]string{{"name": o.secret}}})
	restart, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{o.annotation: o.value}}}}})
	deps := strings.Split(o.deployments, ",")

	one := func(ns string) error {
		secret := corev1ac.Secret(o.secret, ns).WithType(corev1.SecretTypeDockerConfigJson).
			WithData(map[string][]byte{corev1.DockerConfigJsonKey: data})
		if _, err := c.CoreV1().Secrets(ns).Apply(ctx, secret, metav1.ApplyOptions{FieldManager: "rotator-bench-floor", Force: true}); err != nil {
			return fmt.Errorf("apply secret %s/%s: %w", ns, o.secret, err)
		}
		// Strategic merge: imagePullSecrets merge by name, so the others are kept.
		if _, err := c.CoreV1().ServiceAccounts(ns).Patch(ctx, o.serviceAccount, types.StrategicMergePatchType, bind, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("bind serviceaccount %s/%s: %w", ns, o.serviceAccount, err)
		}
		for _, d := range deps {
			if _, err := c.AppsV1().Deployments(ns).Patch(ctx, d, types.StrategicMergePatchType, restart, metav1.PatchOptions{}); err != nil {
				return fmt.Errorf("restart deployment %s/%s: %w", ns, d, err)
			}
		}
		return nil
	}

	var (
		wg     sync.WaitGroup
		failed atomic.Int32
		errMu  sync.Mutex
		errs   []string
	)
	work := make(chan string)
	for w := 0; w < o.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ns := range work {
				if err := one(ns); err != nil {
					failed.Add(1)
					errMu.Lock()
					errs = append(errs, err.Error())
					errMu.Unlock()
				}
			}
		}()
	}
	for _, ns := range nss {
		work <- ns
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return 0, fmt.Errorf("%d namespaces failed, first: %s", n, errs[0])
	}
	return len(nss), nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
