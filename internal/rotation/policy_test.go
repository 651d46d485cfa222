package rotation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rotatorhq/rotator/internal/config"
)

var direct = []corev1.LocalObjectReference{{Name: "pull"}}

// boundWorld: namespace a with ServiceAccount default bound to the secret by a first run, and
// Deployment web (pods get the secret from the ServiceAccount) whose pod has it.
func boundWorld(w *world) {
	w.cred().Targets.ServiceAccounts = []string{"default"}
	for _, ns := range w.cred().Targets.Namespaces {
		_, _ = w.kube.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}, metav1.CreateOptions{})
	}
	must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
	w.deployment("a", "web", testImage, 2, nil, nil)
	w.pod("a", "web", "web-1", testImage, "", "pull")
	w.pod("a", "web", "web-2", testImage, "", "pull")
}

// workloadResults are "name:action:reason" of the report's workloads, sorted.
func workloadResults(r *Report) []string {
	var out []string
	for _, wl := range r.Workloads {
		out = append(out, wl.Name+":"+wl.Action+":"+string(wl.Reason))
	}
	slices.Sort(out)
	return out
}

// patched are the Deployments the run patched, sorted.
func patched(w *world) []string {
	var out []string
	for _, a := range w.kube.Actions() {
		if a.GetVerb() == "patch" && a.GetResource().Resource == "deployments" {
			out = append(out, a.(k8stesting.PatchAction).GetName())
		}
	}
	slices.Sort(out)
	return out
}

// Each policy, the annotation and each reason: which workloads a rotation restarts, and why.
func TestRestartPolicies(t *testing.T) {
	cases := []struct {
		name   string
		policy config.RestartPolicy
		setup  func(w *world)
		opts   Options
		want   []string // name:action:reason
	}{{
		name:  "IfNeeded: bound pods restart nothing (kubelet reads the secret at the next pull)",
		setup: boundWorld,
		want:  []string{"web:unchanged:bound"},
	}, {
		name: "IfNeeded: a pod created before the ServiceAccount was bound is restarted",
		setup: func(w *world) {
			boundWorld(w)
			w.pod("a", "web", "web-0", testImage, "") // created before the binding: no secret
		},
		want: []string{"web:restarted:lacks-secret"},
	}, {
		name: "IfNeeded: a pod failing to pull an image of the registry is restarted",
		setup: func(w *world) {
			boundWorld(w)
			w.deployment("a", "api", testImage, 1, direct, nil)
			w.pod("a", "api", "api-1", testImage, "ImagePullBackOff", "pull")
			w.deployment("a", "other", testImage, 1, direct, nil)
			w.pod("a", "other", "other-1", "docker.io/library/nginx:1", "ErrImagePull", "pull") // not this registry
		},
		want: []string{"api:restarted:pull-failing", "other:unchanged:bound", "web:unchanged:bound"},
	}, {
		name: "IfNeeded: a workload without pods is not restarted",
		setup: func(w *world) {
			boundWorld(w)
			w.deployment("a", "idle", testImage, 0, direct, nil)
		},
		want: []string{"idle:unchanged:no-pods", "web:unchanged:bound"},
	}, {
		name:   "Always restarts bound workloads too",
		policy: config.RestartAlways,
		setup:  boundWorld,
		want:   []string{"web:restarted:policy-always"},
	}, {
		name:   "Never restarts nothing, not even pods that lack the secret",
		policy: config.RestartNever,
		setup: func(w *world) {
			boundWorld(w)
			w.pod("a", "web", "web-0", testImage, "")
		},
		want: []string{"web:unchanged:policy-never"},
	}, {
		name:   "annotation never overrides Always; always overrides Never",
		policy: config.RestartAlways,
		setup: func(w *world) {
			boundWorld(w)
			w.deployment("a", "frozen", testImage, 1, direct, map[string]string{"rotator.dev/restart": "never"})
		},
		want: []string{"frozen:unchanged:annotation-never", "web:restarted:policy-always"},
	}, {
		name:   "annotation always overrides Never",
		policy: config.RestartNever,
		setup: func(w *world) {
			boundWorld(w)
			w.deployment("a", "eager", testImage, 1, direct, map[string]string{"rotator.dev/restart": "always"})
		},
		want: []string{"eager:restarted:annotation-always", "web:unchanged:policy-never"},
	}, {
		name: "outside every restart window a needed restart is deferred, nothing patched",
		setup: func(w *world) {
			boundWorld(w)
			w.pod("a", "web", "web-0", testImage, "")
		},
		opts: Options{RestartsOutsideWindow: true},
		want: []string{"web:deferred:outside-window"},
	}, {
		name: "a repair run judges only the namespaces it repairs",
		setup: func(w *world) {
			w.cfg.Credentials[0].Targets.Namespaces = []string{"a", "b"}
			boundWorld(w)
			w.pod("a", "web", "web-0", testImage, "") // lacks the secret, but a is not repaired
			w.deployment("b", "db", testImage, 1, direct, nil)
			w.pod("b", "db", "db-0", testImage, "ErrImagePull", "pull")
			_ = w.kube.CoreV1().Secrets("b").Delete(context.Background(), "pull", metav1.DeleteOptions{})
		},
		opts: Options{IfDue: true},
		want: []string{"db:restarted:pull-failing", "web:unchanged:not-repaired"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "a", "b")
			w.cfg.Credentials[0].Targets.Namespaces = []string{"a"}
			if tc.policy != "" {
				w.cred().Restart.Policy = tc.policy
			}
			tc.setup(w)
			w.kube.ClearActions()
			dry := tc.opts
			dry.DryRun = true
			planned := w.rotate(dry)
			rep := w.rotate(tc.opts)
			if !rep.OK() {
				t.Fatalf("errors %v", rep.Errors)
			}
			if got := workloadResults(rep); !slices.Equal(got, tc.want) {
				t.Errorf("workloads %v, want %v", got, tc.want)
			}
			var restarted []string
			for _, wl := range rep.Workloads {
				if wl.Action == "restarted" {
					restarted = append(restarted, wl.Name)
				}
				if wl.Detail == "" {
					t.Errorf("%s has no detail", wl.Name)
				}
			}
			slices.Sort(restarted)
			if got := patched(w); !slices.Equal(got, restarted) {
				t.Errorf("patched %v, reported restarted %v", got, restarted)
			}
			// The dry run shows the same, with the planned verb.
			var plannedRes []string
			for _, s := range workloadResults(planned) {
				plannedRes = append(plannedRes, strings.Replace(s, ":restart:", ":restarted:", 1))
			}
			if !slices.Equal(plannedRes, tc.want) {
				t.Errorf("dry run planned %v, the run did %v", plannedRes, tc.want)
			}
		})
	}
}

// The report carries the reason and the pods concerned in words.
func TestRestartDetailNamesThePods(t *testing.T) {
	w := newWorld(t, "a")
	boundWorld(w)
	w.pod("a", "web", "web-0", testImage, "")
	rep := w.rotate(Options{})
	if d := rep.Workloads[0].Detail; !strings.Contains(d, "pods lack the secret (created before the ServiceAccount was bound): web-0") {
		t.Errorf("detail %q", d)
	}
}

// Canary restarts the N smallest workloads IfNeeded leaves alone (by replicas, then name).
func TestCanaryPicksTheSmallest(t *testing.T) {
	w := newWorld(t, "a")
	w.cred().Restart.Policy, w.cred().Restart.Canary = config.RestartCanary, 2
	for _, d := range []struct {
		name     string
		replicas int32
	}{{"big", 5}, {"one-b", 1}, {"one-a", 1}, {"none", 0}, {"two", 2}} {
		w.deployment("a", d.name, testImage, d.replicas, direct, nil)
		if d.replicas > 0 {
			w.pod("a", d.name, d.name+"-1", testImage, "", "pull")
		}
	}
	w.deployment("a", "broken", testImage, 1, direct, nil)
	w.pod("a", "broken", "broken-1", testImage, "ImagePullBackOff", "pull")
	rep := w.rotate(Options{})
	must(t, rep, Succeeded)
	want := []string{"big:unchanged:bound", "broken:restarted:pull-failing", "none:unchanged:no-pods", "one-a:restarted:canary", "one-b:restarted:canary", "two:unchanged:bound"}
	if got := workloadResults(rep); !slices.Equal(got, want) {
		t.Errorf("workloads %v, want %v", got, want)
	}
}

// A canary count above what the dependents allow is a problem naming the path and the fix.
func TestCanaryAboveTheDependents(t *testing.T) {
	w := newWorld(t, "a")
	w.cred().Restart.Policy, w.cred().Restart.Canary = config.RestartCanary, 3
	must(t, w.rotate(Options{IfDue: true}), Failed)
	w.deployment("a", "web", testImage, 1, direct, nil)
	w.pod("a", "web", "web-1", testImage, "", "pull")
	rep := w.rotate(Options{})
	must(t, rep, Failed)
	if e := strings.Join(rep.Errors, "\n"); !strings.Contains(e, "credentials[h].restart.canary is 3, above the 1 dependent workload(s)") || !strings.Contains(e, "set it to at most 1") {
		t.Errorf("errors %v", rep.Errors)
	}
	if got := workloadResults(rep); !slices.Equal(got, []string{"web:restarted:canary"}) {
		t.Errorf("workloads %v: the canaries there are still restarted", got)
	}
}

// The old credential is revoked only after the canary rolled out. A canary whose rollout fails
// keeps the new credential pending and the old one current and unrevoked; the next run resumes.
func TestRevokeOnlyAfterTheCanaryRolledOut(t *testing.T) {
	w := newWorld(t, "a")
	w.cred().Restart.Policy = config.RestartCanary
	w.deployment("a", "web", testImage, 1, direct, nil)
	w.pod("a", "web", "web-1", testImage, "", "pull")
	must(t, w.rotate(Options{IfDue: true}), Succeeded)
	old := w.state().Current.ID

	fail := true
	w.kube.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if fail {
			return true, nil, errors.New("the server is currently unable to handle the request")
		}
		return false, nil, nil
	})
	w.prov.calls = nil
	rep := w.rotate(Options{})
	must(t, rep, Failed)
	st := w.state()
	if slices.Contains(w.prov.calls, "revoke "+old) || st.Current == nil || st.Current.ID != old || st.Pending == nil {
		t.Fatalf("calls %s, state %s: the old credential must stay current and unrevoked, the new one pending", fmtCalls(w.prov.calls), w.stateJSON())
	}
	if !strings.Contains(strings.Join(rep.Errors, "\n"), "canary rollout not complete for deployment a/web") {
		t.Errorf("errors %v", rep.Errors)
	}
	if !w.pulls("a") {
		t.Error("namespace a does not pull with the pending credential")
	}

	fail = false
	w.prov.calls = nil
	rep = w.rotate(Options{IfDue: true})
	must(t, rep, Succeeded)
	if rep.Action != ResumePending || !slices.Contains(w.prov.calls, "revoke "+old) || w.state().Pending != nil {
		t.Fatalf("action %s, calls %s, state %s: the resumed run proves the canary, promotes and revokes", rep.Action, fmtCalls(w.prov.calls), w.stateJSON())
	}
	if got := workloadResults(rep); !slices.Equal(got, []string{"web:restarted:canary"}) {
		t.Errorf("workloads %v", got)
	}
}

// Under IfNeeded a rotation of bound workloads restarts nothing and still revokes the old
// credential: pods that name the secret read the new content at their next pull.
func TestIfNeededRevokesWithoutRestarts(t *testing.T) {
	w := newWorld(t, "a")
	boundWorld(w)
	old := w.state().Current.ID
	w.prov.calls = nil
	w.kube.ClearActions()
	rep := w.rotate(Options{})
	must(t, rep, Succeeded)
	if !slices.Contains(w.prov.calls, "revoke "+old) || len(patched(w)) != 0 {
		t.Fatalf("calls %s, patched %v", fmtCalls(w.prov.calls), patched(w))
	}
}

// Outside every restart window a canary is deferred: nothing is patched, the new credential
// stays pending (a warning, not a failure) and the old one current; a run inside a window
// completes it.
func TestCanaryDeferredOutsideWindowKeepsPending(t *testing.T) {
	w := newWorld(t, "a")
	w.cred().Restart.Policy = config.RestartCanary
	w.deployment("a", "web", testImage, 1, direct, nil)
	w.pod("a", "web", "web-1", testImage, "", "pull")
	must(t, w.rotate(Options{IfDue: true}), Succeeded)
	old := w.state().Current.ID
	w.kube.ClearActions()
	w.prov.calls = nil
	rep := w.rotate(Options{RestartsOutsideWindow: true})
	must(t, rep, Succeeded)
	if got := workloadResults(rep); !slices.Equal(got, []string{"web:deferred:outside-window"}) || len(patched(w)) != 0 {
		t.Fatalf("workloads %v, patched %v", got, patched(w))
	}
	if st := w.state(); st.Pending == nil || st.Current.ID != old || slices.Contains(w.prov.calls, "revoke "+old) {
		t.Fatalf("state %s, calls %s", w.stateJSON(), fmtCalls(w.prov.calls))
	}
	rep = w.rotate(Options{IfDue: true})
	must(t, rep, Succeeded)
	if rep.Action != ResumePending || w.state().Pending != nil || !slices.Contains(w.prov.calls, "revoke "+old) {
		t.Fatalf("action %s, state %s", rep.Action, w.stateJSON())
	}
}

// A failed rollout of a workload that is not a canary fails the run and holds nothing back: the
// new credential is promoted (today's rule).
func TestFailedRestartFailsTheRunButPromotes(t *testing.T) {
	w := newWorld(t, "a")
	boundWorld(w)
	w.cred().Restart.Policy = config.RestartAlways
	old := w.state().Current.ID
	w.kube.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server is currently unable to handle the request")
	})
	rep := w.rotate(Options{})
	must(t, rep, Failed)
	if got := workloadResults(rep); !slices.Equal(got, []string{"web:failed:policy-always"}) {
		t.Errorf("workloads %v", got)
	}
	if st := w.state(); st.Pending != nil || st.Current.ID == old {
		t.Fatalf("state %s: a failed rollout that is not a canary must not keep the credential pending", w.stateJSON())
	}
}
