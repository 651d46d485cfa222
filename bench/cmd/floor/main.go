// Command floor is the benchmark's lower bound: the fewest API requests that reach the end state
// a rotation must reach in each namespace, and nothing else. Per namespace it makes one
// server-side apply of the pull Secret, one patch of the ServiceAccount's imagePullSecrets and
// one pod-template annotation patch per Deployment; no reads, no events, no verification, no
// waiting. It runs at the client rate limit and concurrency it is given (the rotator's defaults
// in the benchmark), so the rotator's extra work shows as the ratio between the two.
//
// With -restarts-per-minute or -wait it is the floor of restart.policy Always instead: the same
// Secret and ServiceAccount writes, then every template patched at the restart rate limit (one
// restart.Pacer, as the rotator shares one per process) and, with -wait, every rollout awaited at
// once by watch (restart.Restarter with no bound on rollouts in flight): what no rotator that
// restarts everything at that pace can beat.
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
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rotatorhq/rotator/internal/restart"
)

type options struct {
	kubeconfig, namespaces, dockerConfig string
	secret, serviceAccount, deployments  string
	annotation, value                    string
	qps                                  float64
	burst, concurrency                   int
	restartsPerMinute                    int
	wait                                 bool
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
	flag.IntVar(&o.restartsPerMinute, "restarts-per-minute", 0, "patch the templates after all writes, at most this many a minute (0: with the writes, unpaced)")
	flag.BoolVar(&o.wait, "wait", false, "wait for every rollout, all at once, by watch")
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
	paced := o.restartsPerMinute > 0 || o.wait

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
			if paced {
				break // restarted after every write, below
			}
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
	if paced {
		return len(nss), restartAll(ctx, c, o, nss, deps)
	}
	return len(nss), nil
}

// restartAll patches every Deployment at the pace and, with o.wait, awaits all rollouts at once.
func restartAll(ctx context.Context, c kubernetes.Interface, o options, nss, deps []string) error {
	var ws []restart.Workload
	for _, ns := range nss {
		for _, d := range deps {
			ws = append(ws, restart.Workload{Kind: restart.KindDeployment, Namespace: ns, Name: d})
		}
	}
	var pacer *restart.Pacer
	if o.restartsPerMinute > 0 {
		pacer = restart.NewPacer(o.restartsPerMinute, nil)
	}
	// Every rollout in flight at once: concurrency bounds nothing here, the pace does.
	r := &restart.Restarter{Client: c, Pacer: pacer, Concurrency: max(1, len(ws)), Timeout: 30 * time.Minute, TrustSnapshot: true}
	for _, res := range r.Restart(ctx, ws, o.annotation, o.value, o.wait) {
		if res.Err != nil {
			return res.Err
		}
	}
	return nil
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
