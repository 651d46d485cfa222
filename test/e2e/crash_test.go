//go:build integration

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/faultpoint"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

var (
	faultBinOnce sync.Once
	faultBin     string
	faultBinErr  error
)

// faultBinary is the rotator built with -tags faultpoints: it dies where ROTATOR_FAULTPOINT says.
func faultBinary(t *testing.T) string {
	t.Helper()
	faultBinOnce.Do(func() {
		faultBin = filepath.Join(filepath.Dir(rotatorBin), "rotator-faultpoints")
		out, err := exec.Command("go", "build", "-tags", "faultpoints", "-o", faultBin, "github.com/rotatorhq/rotator/cmd/rotator").CombinedOutput()
		if err != nil {
			faultBinErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if faultBinErr != nil {
		t.Fatal(faultBinErr)
	}
	return faultBin
}

// prober pulls with every target namespace's current Secret, as a new pod would, several times
// a second, and counts the pulls that fail.
type prober struct {
	pulls, failures atomic.Int64
	mu              sync.Mutex
	firstFailure    string
	stop            chan struct{}
	done            sync.WaitGroup
}

func startProber(t *testing.T, nss []string, image string) *prober {
	p := &prober{stop: make(chan struct{})}
	for _, ns := range nss {
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			for {
				select {
				case <-p.stop:
					return
				case <-time.After(150 * time.Millisecond):
				}
				s, err := rig.Admin.CoreV1().Secrets(ns).Get(context.Background(), "harbor-pull", metav1.GetOptions{})
				if err != nil {
					p.fail(fmt.Sprintf("%s: read secret: %v", ns, err))
					continue
				}
				cfg, err := pullsecret.ParseSecret(s)
				if err != nil {
					p.fail(fmt.Sprintf("%s: secret does not parse: %v", ns, err))
					continue
				}
				e, _, ok := pullsecret.Match(cfg, image)
				if !ok {
					p.fail(ns + ": no key matches")
					continue
				}
				p.pulls.Add(1)
				if err := pull(image, e.Username, e.Password); err != nil {
					p.fail(fmt.Sprintf("%s: pull: %v", ns, err))
				}
			}
		}()
	}
	return p
}

func (p *prober) fail(msg string) {
	p.failures.Add(1)
	p.mu.Lock()
	if p.firstFailure == "" {
		p.firstFailure = msg
	}
	p.mu.Unlock()
}

func (p *prober) finish() { close(p.stop); p.done.Wait() }

// Kill the rotation at every fault point, start it again, let it finish: no pull ever fails,
// and the end state is that of an uninterrupted run.
func TestCrashAtEveryFaultPoint(t *testing.T) {
	bin := faultBinary(t)
	points := []string{}
	for _, fp := range faultpoint.All {
		switch fp {
		case faultpoint.AfterWrite, faultpoint.AfterRestart:
			points = append(points, fp+"#1", fp+"#2")
		default:
			points = append(points, fp)
		}
	}
	passed := 0
	for i, point := range points {
		t.Run(point, func(t *testing.T) {
			name := fmt.Sprintf("crash%d", i)
			nss := namespaces(t, name, 2)
			img := rig.Images["proj-a"]
			for _, ns := range nss {
				for _, o := range []any{sandbox.Deployment(ns, "direct", img, "harbor-pull", 1), sandbox.Deployment(ns, "viasa", img, "", 1)} {
					if err := rig.Apply(context.Background(), o); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Policy Always: the crash points include the restart phase, and the end state is
			// checked by the restart annotation.
			cfg := rotatorConfig(t, cfgOpts{name: name, namespaces: nss, projects: []string{"proj-a"}, revokeAfter: "0s", policy: "Always"})
			if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg); res.Code != 0 {
				t.Fatalf("initial rotation failed:\n%s", res.Stderr)
			}
			since := metav1.Now()
			pr := startProber(t, nss, img)

			res := runRotatorWith(t, bin, []string{"ROTATOR_FAULTPOINT=" + point}, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg)
			if res.Code == 0 || !strings.Contains(res.Stderr, "faultpoint: dying at") {
				t.Fatalf("the rotation did not die at %s (exit %d):\n%s", point, res.Code, res.Stderr)
			}
			res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
			if res.Code != 0 {
				t.Fatalf("the run after the crash did not finish (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
			}
			time.Sleep(500 * time.Millisecond) // a few more probes on the final state
			pr.finish()
			if n := pr.failures.Load(); n > 0 || pr.pulls.Load() == 0 {
				t.Fatalf("%d of %d probe pulls failed; first: %s", n, pr.pulls.Load(), pr.firstFailure)
			}
			assertFinalState(t, name, nss, since)
			passed++
		})
	}
	t.Logf("crash test: %d of %d fault points passed (zero failed pulls, final state as an uninterrupted run)", passed, len(points))
	fmt.Fprintf(os.Stderr, "crash test: %d of %d fault points passed\n", passed, len(points))
}

// assertFinalState: what an uninterrupted run leaves: every namespace holds the current
// credential, nothing pending or awaiting revocation, exactly one robot, workloads rolled out
// for the current credential, and no pod ever failed to pull.
func assertFinalState(t *testing.T, name string, nss []string, since metav1.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := rig.Admin.CoreV1().Secrets(stateNS).Get(ctx, "rotator-state-"+name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stateJSON := string(st.Data["state.json"])
	for _, bad := range []string{`"pending"`, `"retired"`, `"issuing"`} {
		if strings.Contains(stateJSON, bad) {
			t.Fatalf("state not final: %s", stateJSON)
		}
	}
	robots := robotsNamed("rotator-" + name + "-")
	if len(robots) != 1 {
		t.Fatalf("want exactly the current robot, got %d: %+v", len(robots), robots)
	}
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if u != robots[0].Name {
			t.Fatalf("namespace %s holds %s, want the current robot %s", ns, u, robots[0].Name)
		}
		if err := pull(rig.Images["proj-a"], u, p); err != nil {
			t.Fatalf("namespace %s: current secret does not pull: %v", ns, err)
		}
		s, _ := rig.Admin.CoreV1().Secrets(ns).Get(ctx, "harbor-pull", metav1.GetOptions{})
		fp := s.Annotations["rotator.dev/fingerprint"]
		for _, d := range []string{"direct", "viasa"} {
			waitAvailable(t, ns, d)
			if got := getDeployment(t, ns, d).Spec.Template.Annotations["rotator.dev/fp-"+name]; got != fp {
				t.Fatalf("deployment %s/%s restarted for %q, want the current credential %q", ns, d, got, fp)
			}
		}
		sa, _ := rig.Admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if len(sa.ImagePullSecrets) != 1 {
			t.Fatalf("serviceaccount %s/default: %v", ns, sa.ImagePullSecrets)
		}
		evs, _ := rig.Admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "Failed to pull image") && e.LastTimestamp.After(since.Time) {
				t.Fatalf("a pod failed to pull during the crash test: %s", e.Message)
			}
		}
	}
}
