package rotation

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/verify"
)

// Table tests of the state machine on fakes: each case builds a world (cluster, provider,
// registry, clock), runs the core one or more times, and checks what it decided and did.
func TestStateMachine(t *testing.T) {
	cases := []struct {
		name  string
		ns    []string
		setup func(w *world)
		run   func(w *world) []*Report
		check func(t *testing.T, w *world, reps []*Report)
	}{{
		name: "first run issues, distributes and promotes",
		ns:   []string{"a", "b"},
		run:  func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			st := w.state()
			if st.Current == nil || st.Pending != nil || st.Intent != nil {
				t.Fatalf("state %s", w.stateJSON())
			}
			for _, ns := range []string{"a", "b"} {
				if w.heldID(ns) != st.Current.ID || !w.pulls(ns) {
					t.Errorf("namespace %s holds %q, want the current %s and a pull", ns, w.heldID(ns), st.Current.ID)
				}
			}
		},
	}, {
		name: "a second run with nothing due writes nothing and asks the provider once",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.kube.ClearActions()
			w.prov.calls = nil
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], NothingDue)
			for _, a := range w.kube.Actions() {
				if a.GetVerb() != "list" && a.GetVerb() != "get" {
					t.Errorf("nothing-due run made a %s of %s", a.GetVerb(), a.GetResource().Resource)
				}
			}
			if !slices.Equal(w.prov.calls, []string{"list"}) {
				t.Errorf("provider calls %s, want one list (the liveness check)", fmtCalls(w.prov.calls))
			}
		},
	}, {
		name: "dead pending (deleted at the provider) is abandoned and replaced in the same run",
		ns:   []string{"a", "b"},
		setup: func(w *world) {
			w.cred().Targets.Namespaces = []string{"a", "b", "missing"}
			rep := w.rotate(Options{IfDue: true})
			must(w.t, rep, Failed) // "missing" does not exist
			w.cred().Targets.Namespaces = []string{"a", "b"}
			st := w.state()
			// Today's promotion rule: a missing namespace no longer holds the credential back.
			if st.Current == nil {
				w.t.Fatalf("a missing namespace held promotion back: %s", w.stateJSON())
			}
			// Make it the wedge of issue 13: the state says pending, the robot is deleted.
			st.Pending, st.Current = st.Current, nil
			if err := (&state.Store{Client: w.kube, Namespace: "rotator-system"}).Save(context.Background(), "h", st); err != nil {
				w.t.Fatal(err)
			}
			delete(w.prov.creds, st.Pending.ID)
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if len(reps[0].Abandoned) != 1 || reps[0].Issued == nil {
				t.Fatalf("abandoned %v issued %v", reps[0].Abandoned, reps[0].Issued)
			}
			for _, ns := range []string{"a", "b"} {
				if !w.pulls(ns) {
					t.Errorf("namespace %s does not pull after the run", ns)
				}
			}
			if st := w.state(); st.Pending != nil || len(st.Retired) != 0 {
				t.Errorf("state %s: the dead credential must be gone", w.stateJSON())
			}
		},
	}, {
		name: "dead current (deleted, disabled, expired or renamed) is detected by an if-due run",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.prov.creds[w.state().Current.ID].Disabled = true
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if reps[0].Action != IssueNew || !strings.Contains(reps[0].Decision, "disabled") {
				t.Fatalf("decision %s %q", reps[0].Action, reps[0].Decision)
			}
			if !w.pulls("a") {
				t.Error("namespace a does not pull")
			}
		},
	}, {
		name: "renamed at the provider (robot prefix changed): the username no longer logs in",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			c := w.prov.creds[w.state().Current.ID]
			c.Name = strings.Replace(c.Name, "robot$", "robot-", 1)
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if !strings.Contains(reps[0].Decision, "renamed") || !w.pulls("a") {
				t.Fatalf("decision %q, pulls %v", reps[0].Decision, w.pulls("a"))
			}
		},
	}, {
		name: "an orphan is deleted only by its exact recorded name, never another cluster's robot of the same prefix",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			st := w.state()
			st.Intent = &state.Intent{Name: "rotator-h-20261201t100000-aaaa-0a1b2c3d", At: t0}
			if err := (&state.Store{Client: w.kube, Namespace: "rotator-system"}).Save(context.Background(), "h", st); err != nil {
				w.t.Fatal(err)
			}
			w.prov.add("7", "rotator-h-20261201t100000-aaaa-0a1b2c3d") // ours: the recorded name
			w.prov.add("8", "rotator-h-20261201t100001-bbbb-99999999") // another cluster's, same window
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if !slices.Contains(w.prov.calls, "revoke 7") || slices.Contains(w.prov.calls, "revoke 8") {
				t.Fatalf("provider calls %s: want exactly the recorded orphan 7 revoked", fmtCalls(w.prov.calls))
			}
			if w.state().Intent != nil {
				t.Error("the intent stays after its orphan was deleted")
			}
		},
	}, {
		name: "state lost: the secrets' credential is retired, this installation's unknown robots revoked, others untouched",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.cred().RevokeAfter.Duration = time.Hour
			if err := w.kube.CoreV1().Secrets("rotator-system").Delete(context.Background(), state.SecretName("h"), metav1.DeleteOptions{}); err != nil {
				w.t.Fatal(err)
			}
			w.prov.add("7", "rotator-h-20261201t090000-aaaa-0a1b2c3d") // ours, unknown: a lost pending
			w.prov.add("8", "rotator-h-20261201t090000-bbbb-99999999") // another installation's
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if !slices.Contains(w.prov.calls, "revoke 7") || slices.Contains(w.prov.calls, "revoke 8") {
				t.Fatalf("provider calls %s", fmtCalls(w.prov.calls))
			}
			st := w.state()
			if st.Current == nil || len(st.Retired) != 1 || st.Retired[0].ID != "101" {
				t.Fatalf("state %s: want the new current and the found credential 101 retired", w.stateJSON())
			}
		},
	}, {
		name: "an unwritable namespace is reported, does not hold promotion back, and holds its credential from revocation",
		ns:   []string{"a", "b", "c"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			refuseUpdates(w, "c")
		},
		run: func(w *world) []*Report {
			first := w.rotate(Options{})
			w.prov.calls = nil
			second := w.rotate(Options{IfDue: true}) // c still unwritable: nothing may be revoked
			must(w.t, second, Failed)
			if slices.ContainsFunc(w.prov.calls, func(c string) bool { return strings.HasPrefix(c, "revoke") }) {
				w.t.Fatalf("a credential held by c was revoked: %s", fmtCalls(w.prov.calls))
			}
			// The policy is lifted; the next run writes c and then revokes the old credential.
			w.kube.ReactionChain = w.kube.ReactionChain[1:]
			return []*Report{first, w.rotate(Options{IfDue: true})}
		},
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Failed)
			if !strings.Contains(strings.Join(reps[0].Errors, "\n"), "c/pull") {
				t.Errorf("errors %v do not name c/pull", reps[0].Errors)
			}
			if len(reps[0].Held) != 1 || !strings.Contains(reps[0].Held[0].Reason, "c") {
				t.Errorf("held %v, want the old credential held by c", reps[0].Held)
			}
			must(t, reps[1], Succeeded)
			if len(reps[1].Revoked) != 1 || len(w.state().Retired) != 0 {
				t.Errorf("revoked %v, state %s", reps[1].Revoked, w.stateJSON())
			}
			for _, ns := range []string{"a", "b", "c"} {
				if !w.pulls(ns) {
					t.Errorf("namespace %s does not pull", ns)
				}
			}
		},
	}, {
		name: "a managed Secret its tenant made immutable is replaced: nothing is held back, the old credential is revoked as usual",
		ns:   []string{"a", "b", "c"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			makeImmutable(w, "c")
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if len(reps[0].Held) != 0 || len(reps[0].Revoked) != 1 || len(w.state().Retired) != 0 {
				t.Errorf("held %v revoked %v, state %s: want the old credential revoked, nothing held", reps[0].Held, reps[0].Revoked, w.stateJSON())
			}
			for _, ns := range []string{"a", "b", "c"} {
				if !w.pulls(ns) || w.heldID(ns) != w.state().Current.ID {
					t.Errorf("namespace %s does not pull with the current credential", ns)
				}
			}
			s, _ := w.kube.CoreV1().Secrets("c").Get(context.Background(), "pull", metav1.GetOptions{})
			if s.Immutable != nil && *s.Immutable {
				t.Error("the replaced Secret is immutable again")
			}
		},
	}, {
		name: "a credential the registry refuses is revoked at once and nothing is written",
		ns:   []string{"a"},
		setup: func(w *world) {
			w.prov.brokenIssue = true
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Failed)
			if len(w.prov.creds) != 0 || w.heldID("a") != "" || w.state().Pending != nil {
				t.Fatalf("creds %d, a holds %q, state %s", len(w.prov.creds), w.heldID("a"), w.stateJSON())
			}
		},
	}, {
		name: "an unreachable registry is no verdict: the credential stays pending and the next run resumes it",
		ns:   []string{"a"},
		run: func(w *world) []*Report {
			w.reg.down = true
			first := w.rotate(Options{})
			w.reg.down = false
			return []*Report{first, w.rotate(Options{IfDue: true})}
		},
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Failed)
			if reps[0].Cause != Transient {
				t.Errorf("cause %q, want transient", reps[0].Cause)
			}
			must(t, reps[1], Succeeded)
			if reps[1].Action != ResumePending || len(w.prov.creds) != 1 {
				t.Fatalf("second run %s with %d credentials at the provider: want the first one resumed", reps[1].Action, len(w.prov.creds))
			}
		},
	}, {
		name: "a missing verify image (404) or a policy refusal (412) proves the credential",
		ns:   []string{"a"},
		setup: func(w *world) {
			w.reg.answer = &verify.PullError{Image: testImage, Reason: verify.ReasonNotFound, Stage: verify.StageManifest, Status: 404}
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if w.state().Current == nil {
				t.Fatal("not promoted")
			}
		},
	}, {
		name: "no image to verify with: nothing is issued",
		ns:   []string{"a"},
		setup: func(w *world) {
			w.cred().VerifyImages = nil
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Failed)
			if slices.Contains(w.prov.calls, "issue") {
				t.Fatalf("issued a credential it cannot verify: %s", fmtCalls(w.prov.calls))
			}
		},
	}, {
		name: "changed projects: a new credential, and the old one is not taken for dead (listed elsewhere)",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.cred().Harbor.Projects = []string{"proj", "other"}
			w.prov.hideFromList = w.state().Current.ID // Harbor lists system robots apart
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if len(reps[0].Abandoned) != 0 || !strings.Contains(reps[0].Decision, "projects changed") {
				t.Fatalf("decision %q, abandoned %v", reps[0].Decision, reps[0].Abandoned)
			}
		},
	}, {
		name: "a pending credential whose password was lost is abandoned (revoked), not leaked",
		ns:   []string{"a"},
		setup: func(w *world) {
			w.reg.down = true
			must(w.t, w.rotate(Options{}), Failed) // leaves a pending credential
			w.reg.down = false
			sec, _ := w.kube.CoreV1().Secrets("rotator-system").Get(context.Background(), state.SecretName("h"), metav1.GetOptions{})
			delete(sec.Data, "pending-password")
			_, _ = w.kube.CoreV1().Secrets("rotator-system").Update(context.Background(), sec, metav1.UpdateOptions{})
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], Succeeded)
			if !slices.Contains(w.prov.calls, "revoke 101") || len(w.prov.creds) != 1 {
				t.Fatalf("calls %s, %d live: the passwordless pending must be revoked and replaced", fmtCalls(w.prov.calls), len(w.prov.creds))
			}
		},
	}, {
		name: "rollback only to a previous credential that verifies now",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.workload("a", "web", "harbor.test/proj/other:1")
			w.reg.refuseUser = "robot$rotator-h-20261201t100000-" // every new robot is refused for the workload's image
			w.reg.refuseImage = "harbor.test/proj/other:1"
		},
		run: func(w *world) []*Report {
			first := w.rotate(Options{}) // previous verifies: rolled back
			// The previous credential is still listed, but the registry refuses it now.
			w.reg.refuseAll = w.prov.creds[w.state().Current.ID].Name
			second := w.rotate(Options{}) // previous does not verify: no rollback to it
			return []*Report{first, second}
		},
		check: func(t *testing.T, w *world, reps []*Report) {
			if reps[0].RolledBack == nil {
				t.Fatalf("no rollback to a previous credential that verifies: %v", reps[0].Errors)
			}
			if reps[1].RolledBack != nil {
				t.Fatalf("rolled back to a dead credential: %v", reps[1].Errors)
			}
		},
	}, {
		name: "a workload with a pull secret of its own triggers no rollback",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.workload("a", "web", "harbor.test/proj/other:1", "its-own-secret")
			w.reg.refuseUser = "robot$rotator-h-"
			w.reg.refuseImage = "harbor.test/proj/other:1"
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			if reps[0].RolledBack != nil {
				t.Fatalf("rolled back for a workload that has its own pull secret: %v", reps[0].Errors)
			}
			must(t, reps[0], Succeeded)
		},
	}, {
		name: "the provider cannot list: nothing is judged dead, the run goes on",
		ns:   []string{"a"},
		setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			w.prov.failList = errDown
		},
		run: func(w *world) []*Report { return []*Report{w.rotate(Options{IfDue: true})} },
		check: func(t *testing.T, w *world, reps []*Report) {
			must(t, reps[0], NothingDue)
			if len(reps[0].Abandoned) != 0 {
				t.Fatalf("abandoned %v without a list", reps[0].Abandoned)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.ns...)
			if tc.setup != nil {
				tc.setup(w)
			}
			w.prov.calls = nil
			tc.check(t, w, tc.run(w))
		})
	}
}

// refuseUpdates makes the fake API server refuse every update of ns's managed Secret, as an
// admission policy of the tenant's namespace could.
func refuseUpdates(w *world, ns string) {
	w.kube.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if u, ok := a.(k8stesting.UpdateAction); ok && u.GetNamespace() == ns {
			if obj, ok := u.GetObject().(*corev1.Secret); ok && obj.Name == "pull" {
				return true, nil, errDenied
			}
		}
		return false, nil, nil
	})
}

// makeImmutable makes ns's managed Secret immutable, and the fake API server refuse to change
// its data, as the real one does.
func makeImmutable(w *world, ns string) {
	w.t.Helper()
	ctx := context.Background()
	s, err := w.kube.CoreV1().Secrets(ns).Get(ctx, "pull", metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	yes := true
	s.Immutable = &yes
	if _, err := w.kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	w.kube.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if u, ok := a.(k8stesting.UpdateAction); ok && u.GetNamespace() == ns {
			if obj, ok := u.GetObject().(*corev1.Secret); ok && obj.Name == "pull" && obj.Immutable != nil && *obj.Immutable {
				return true, nil, errImmutable
			}
		}
		return false, nil, nil
	})
}

// The dry run prints the plan the run then executes: the same decision, the same action per
// Secret and ServiceAccount, the same credentials revoked.
// planCase is a cluster set up by setup, and the run of opts whose plan is compared.
type planCase struct {
	name  string
	opts  Options
	setup func(w *world)
}

// planCases are the clusters the plan tests compare plans on: a first run, drift, a tenant's
// Secrets, a dead credential.
func planCases() []planCase {
	return []planCase{
		{name: "first run", opts: Options{IfDue: true}},
		{name: "rotate now over a drifted and a missing secret", opts: Options{}, setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			ctx := context.Background()
			_ = w.kube.CoreV1().Secrets("a").Delete(ctx, "pull", metav1.DeleteOptions{})
			s, _ := w.kube.CoreV1().Secrets("b").Get(ctx, "pull", metav1.GetOptions{})
			s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`)
			_, _ = w.kube.CoreV1().Secrets("b").Update(ctx, s, metav1.UpdateOptions{})
		}},
		{name: "repair of a deleted secret", opts: Options{IfDue: true}, setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			_ = w.kube.CoreV1().Secrets("c").Delete(context.Background(), "pull", metav1.DeleteOptions{})
		}},
		{name: "a tenant's Secret in the way, and one made immutable", opts: Options{}, setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			ctx := context.Background()
			_ = w.kube.CoreV1().Secrets("a").Delete(ctx, "pull", metav1.DeleteOptions{})
			theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: "a"}, Type: corev1.SecretTypeOpaque}
			if _, err := w.kube.CoreV1().Secrets("a").Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
				w.t.Fatal(err)
			}
			makeImmutable(w, "b")
		}},
		{name: "dead current", opts: Options{IfDue: true}, setup: func(w *world) {
			must(w.t, w.rotate(Options{IfDue: true}), Succeeded)
			delete(w.prov.creds, w.state().Current.ID)
		}},
	}
}

// planWorld is the cluster of a planCase: three target namespaces with ServiceAccount default
// bound by the config, then tc.setup.
func planWorld(t *testing.T, tc planCase) *world {
	w := newWorld(t, "a", "b", "c")
	w.cred().Targets.ServiceAccounts = []string{"default"}
	for _, ns := range []string{"a", "b", "c"} {
		_, _ = w.kube.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}, metav1.CreateOptions{})
	}
	if tc.setup != nil {
		tc.setup(w)
	}
	return w
}

func TestDryRunPrintsThePlanTheRunExecutes(t *testing.T) {
	for _, tc := range planCases() {
		t.Run(tc.name, func(t *testing.T) {
			w := planWorld(t, tc)
			dry := tc.opts
			dry.DryRun = true
			planned := w.rotate(dry)
			must(t, planned, Planned)
			done := w.rotate(tc.opts)
			if planned.Action != done.Action || planned.Decision != done.Decision {
				t.Errorf("decision: planned %s %q, done %s %q", planned.Action, planned.Decision, done.Action, done.Decision)
			}
			if p, d := secretActions(planned, false), secretActions(done, true); !slices.Equal(p, d) {
				t.Errorf("secrets: planned %v, done %v", p, d)
			}
			if p, d := saNames(planned), saNames(done); !slices.Equal(p, d) {
				t.Errorf("bindings: planned %v, done %v", p, d)
			}
			if p, d := refIDs(planned.Revoked), refIDs(done.Revoked); !slices.Equal(p, d) {
				t.Errorf("revoked: planned %v, done %v", p, d)
			}
		})
	}
}

func secretActions(r *Report, executed bool) []string {
	var out []string
	for _, s := range r.Secrets {
		a := SecretAction(s.Action)
		if executed {
			a = a.Planned()
		}
		out = append(out, s.Namespace+":"+string(a))
	}
	slices.Sort(out)
	return out
}

func saNames(r *Report) []string {
	var out []string
	for _, s := range r.ServiceAccounts {
		out = append(out, s.Namespace+"/"+s.Name)
	}
	slices.Sort(out)
	return out
}

func refIDs(refs []CredentialRef) []string {
	var out []string
	for _, c := range refs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}
