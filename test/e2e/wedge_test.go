//go:build integration

package e2e

// Issue 13, "never wedge, never strand a namespace": the scenarios at the top of the issue,
// black-box against the sandbox. Each test names the property of the rotation core it holds to.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/rotation"
)

// A run fails part-way (one listed namespace does not exist), so the namespaces that exist hold
// the new robot while it may still be pending; then an admin deletes that robot at Harbor. The
// next runs must not resume the dead credential: within two runs (of `rotate now --if-due`, and
// of a plain `rotate now`) a fresh robot is issued and written, every existing namespace's pods
// pull with it, and the report names only the missing namespace as an error.
//
// The new core promotes despite the missing namespace, so there the partial run leaves the robot
// current, not pending. Variant "crashed" makes sure a dead *pending* robot is met by every core:
// a run dies after writing the first namespace (pending robot held there, the previous one
// elsewhere), then that robot is deleted.
func TestWedgeDeadPending(t *testing.T) {
	for _, mode := range []struct {
		name  string
		args  []string
		crash bool
	}{
		{"ifdue", []string{"--if-due"}, false},
		{"now", nil, false},
		{"crashed", []string{"--if-due"}, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			cred := "deadpend-" + mode.name
			nss := namespaces(t, cred, 2)
			webDeployments(t, nss)
			targets, missing := nss, ""
			if !mode.crash {
				missing = fmt.Sprintf("%s-missing-%d", cred, nsCounter.Add(1))
				targets = append(append([]string(nil), nss...), missing)
			}
			cfg := wedgeConfig(t, cred, stateNS, targets, "1h")
			var dead string
			if mode.crash {
				dead = pendingAfterCrash(t, cred, cfg, nss)
			} else {
				res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
				rep := onlyReport(t, res)
				if res.Code != 1 || !mentions(strings.Join(rep.Errors, "\n"), missing) {
					t.Fatalf("the first run must fail naming the missing namespace %s: exit %d\n%s\n%s", missing, res.Code, reportSummary(rep), res.Stderr)
				}
				if rep.Issued == nil {
					t.Fatalf("the first run issued nothing: %s", reportSummary(rep))
				}
				dead = rep.Issued.Name
				for _, ns := range nss {
					if u, _ := secretCredential(t, ns, "harbor-pull"); u != dead {
						t.Fatalf("namespace %s holds %s, want the robot of the partial run %s", ns, u, dead)
					}
				}
				st := rotatorStatus(t, rig.RotatorKubeconfig, cfg, cred)
				t.Logf("after the partial run: current %q, pending %q", st.Name, st.Pending)
			}

			deadPass := ""
			for _, ns := range nss {
				if u, p := secretCredential(t, ns, "harbor-pull"); u == dead {
					deadPass = p
				}
			}
			deleteRobotAtHarbor(t, dead)
			mustNotPull(t, rig.Images["proj-a"], dead, deadPass, "the robot deleted at Harbor")

			args := append([]string{"rotate", "now", "--config", cfg, "-o", "json"}, mode.args...)
			var (
				last     *rotation.Report
				lastCode int
				fresh    string
				history  []string
				pulling  bool
				why      string
			)
			for run := 1; run <= 2 && !pulling; run++ {
				res := runRotator(t, rig.RotatorKubeconfig, args...)
				last, lastCode = onlyReport(t, res), res.Code
				history = append(history, fmt.Sprintf("run %d: exit %d %s", run, res.Code, reportSummary(last)))
				if last.Issued != nil && last.Issued.Name != dead {
					fresh = last.Issued.Name
				}
				pulling, why = allHoldPulling(nss, dead)
			}
			if !pulling {
				t.Fatalf("after two runs of `rotate now %s` the existing namespaces are stranded (%s):\n%s\nstate: %s",
					strings.Join(mode.args, " "), why, strings.Join(history, "\n"), stateJSON(stateNS, cred))
			}
			if fresh == "" {
				t.Fatalf("no fresh robot issued:\n%s", strings.Join(history, "\n"))
			}
			t.Logf("%s", strings.Join(history, "\n"))
			switch {
			case missing != "" && (lastCode != 1 || !mentions(strings.Join(last.Errors, "\n"), missing)):
				t.Errorf("the run must still fail naming the missing namespace %s: exit %d %s", missing, lastCode, reportSummary(last))
			case missing == "" && lastCode != 0:
				t.Errorf("the run that replaced the dead robot must succeed: exit %d %s", lastCode, reportSummary(last))
			}
			for _, ns := range nss {
				if s := secretResult(last, ns); s == nil || s.Error != "" || s.Action == "failed" {
					t.Errorf("namespace %s is not reported done: %+v", ns, s)
				}
			}
			assertNamespacesPull(t, cred, nss, fresh)
		})
	}
}

// pendingAfterCrash rotates once, then runs a rotation that dies right after writing the first
// namespace, and returns the robot that run issued: pending, held by at least that namespace.
func pendingAfterCrash(t *testing.T, cred, cfg string, nss []string) string {
	t.Helper()
	bin := faultBinary(t)
	if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg); res.Code != 0 {
		t.Fatalf("first rotation failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	known := map[string]bool{}
	for _, r := range robotsNamed("rotator-" + cred + "-") {
		known[r.Name] = true
	}
	res := runRotatorWith(t, bin, []string{"ROTATOR_FAULTPOINT=write#1"}, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg)
	if res.Code == 0 || !strings.Contains(res.Stderr, "faultpoint: dying at") {
		t.Fatalf("the rotation did not die after its first write (exit %d):\n%s", res.Code, res.Stderr)
	}
	var issued []string
	for _, r := range robotsNamed("rotator-" + cred + "-") {
		if !known[r.Name] {
			issued = append(issued, r.Name)
		}
	}
	if len(issued) != 1 {
		t.Fatalf("want one robot issued by the crashed run, got %v", issued)
	}
	var holders []string
	for _, ns := range nss {
		if u, _ := secretCredential(t, ns, "harbor-pull"); u == issued[0] {
			holders = append(holders, ns)
		}
	}
	st := rotatorStatus(t, rig.RotatorKubeconfig, cfg, cred)
	if st.Pending != issued[0] || len(holders) == 0 {
		t.Fatalf("premise: want %s pending and held by a namespace, got pending %q, held by %v\nstate: %s", issued[0], st.Pending, holders, stateJSON(stateNS, cred))
	}
	t.Logf("after the crash: current %q, pending %q held by %v", st.Name, st.Pending, holders)
	return issued[0]
}

// The current robot is deleted, or disabled, at Harbor after a successful rotation. The cheap
// check of `rotate now --if-due` must see it (not "nothing due"), issue a new robot in the same
// run and rewrite every namespace, whose pods then pull again; the next check is idle.
func TestWedgeDeadCurrent(t *testing.T) {
	for _, how := range []struct {
		name string
		kill func(*testing.T, string)
	}{
		{"deleted", deleteRobotAtHarbor},
		{"disabled", disableRobotAtHarbor},
	} {
		t.Run(how.name, func(t *testing.T) {
			cred := "deadcur-" + how.name
			nss := namespaces(t, cred, 2)
			webDeployments(t, nss)
			cfg := wedgeConfig(t, cred, stateNS, nss, "1h")
			dead := firstRotation(t, cred, cfg, nss)
			u, p := secretCredential(t, nss[0], "harbor-pull")
			how.kill(t, dead)
			mustNotPull(t, rig.Images["proj-a"], u, p, "the robot "+how.name+" at Harbor")

			res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
			rep := onlyReport(t, res)
			if rep.Result == "nothing-due" {
				t.Fatalf("`rotate now --if-due` says nothing is due while the current robot %s is %s at Harbor: %s", dead, how.name, reportSummary(rep))
			}
			if rep.Issued == nil || rep.Issued.Name == dead {
				t.Fatalf("no new robot issued in place of the %s one (exit %d): %s\n%s", how.name, res.Code, reportSummary(rep), res.Stderr)
			}
			if res.Code != 0 {
				t.Fatalf("replacing a dead credential must succeed (exit %d): %s\n%s", res.Code, reportSummary(rep), res.Stderr)
			}
			assertNamespacesPull(t, cred, nss, rep.Issued.Name)
			if st := rotatorStatus(t, rig.RotatorKubeconfig, cfg, cred); st.Name != rep.Issued.Name || st.Pending != "" {
				t.Errorf("status: current %q pending %q, want current %s and nothing pending", st.Name, st.Pending, rep.Issued.Name)
			}
			if how.name == "disabled" && robotExists(dead) {
				t.Errorf("the abandoned (disabled) robot %s was left at Harbor", dead)
			}
			res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
			if rep := onlyReport(t, res); res.Code != 0 || rep.Issued != nil || rep.Result != "nothing-due" {
				t.Errorf("the check after the replacement must be idle: exit %d %s", res.Code, reportSummary(rep))
			}
		})
	}
}

// Two rotators (two "clusters": the same config but for stateNamespace, hence the same
// credential name and robot prefix) share the Harbor double. Cluster A dies between the
// robot's create and its record; cluster B rotates in that same time window. A's next run
// deletes its own orphan and nothing of B's: both of B's robots still exist and B's
// namespaces still pull.
func TestWedgeOrphansOfTwoClusters(t *testing.T) {
	const cred = "orphans"
	bin := faultBinary(t)
	sysA, sysB := stateNamespaceFor(t, "orph-sys-a"), stateNamespaceFor(t, "orph-sys-b")
	nssA, nssB := namespaces(t, "orph-a", 2), namespaces(t, "orph-b", 2)
	webDeployments(t, append(append([]string(nil), nssA...), nssB...))
	cfgA := wedgeConfig(t, cred, sysA, nssA, "1h")
	cfgB := wedgeConfig(t, cred, sysB, nssB, "1h")

	first := map[string]string{}
	for which, cfg := range map[string]string{"A": cfgA, "B": cfgB} {
		res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
		if res.Code != 0 {
			t.Fatalf("cluster %s: first rotation failed (exit %d):\n%s\n%s", which, res.Code, res.Stdout, res.Stderr)
		}
		first[which] = onlyReport(t, res).Issued.Name
	}
	a1, b1 := first["A"], first["B"]
	known := map[string]bool{}
	for _, r := range robotsNamed("rotator-" + cred + "-") {
		known[r.Name] = true
	}

	res := runRotatorWith(t, bin, []string{"ROTATOR_FAULTPOINT=issue"}, rig.RotatorKubeconfig, "rotate", "now", "--config", cfgA)
	if res.Code == 0 || !strings.Contains(res.Stderr, "faultpoint: dying at") {
		t.Fatalf("cluster A did not die after the create (exit %d):\n%s", res.Code, res.Stderr)
	}
	var orphans []string
	for _, r := range robotsNamed("rotator-" + cred + "-") {
		if !known[r.Name] {
			orphans = append(orphans, r.Name)
		}
	}
	if len(orphans) != 1 {
		t.Fatalf("want exactly one robot created by A's dead run, got %v", orphans)
	}
	orphan := orphans[0]

	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfgB, "-o", "json")
	if res.Code != 0 {
		t.Fatalf("cluster B's rotation failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	b2 := onlyReport(t, res).Issued.Name
	assertNamespacesPull(t, cred, nssB, b2)
	t.Logf("A's robots %s (current) and %s (orphan); B's %s (retired, 1h grace) and %s (current)", a1, orphan, b1, b2)

	rig.Harbor.ResetRequests()
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfgA, "-o", "json")
	repA := onlyReport(t, res)
	changes := harborChanges()
	for _, b := range []string{b1, b2} {
		if !robotExists(b) {
			t.Errorf("cluster A's run deleted cluster B's robot %s\n  A's report: %s\n  Harbor changes: %v", b, reportSummary(repA), changes)
		}
	}
	if robotExists(orphan) {
		t.Errorf("cluster A's run left its own orphan %s: %s", orphan, reportSummary(repA))
	}
	if !robotExists(a1) {
		t.Errorf("cluster A's run deleted its previous robot %s inside its grace period", a1)
	}
	if res.Code != 0 {
		t.Errorf("cluster A's run after the crash failed (exit %d): %s\n%s", res.Code, reportSummary(repA), res.Stderr)
	}
	if t.Failed() {
		t.FailNow()
	}
	assertNamespacesPull(t, cred, nssB, b2)
	assertNamespacesPull(t, cred, nssA, "")
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfgB, "--if-due", "-o", "json")
	if rep := onlyReport(t, res); res.Code != 0 || rep.Issued != nil {
		t.Errorf("cluster B's check after A's cleanup must find its credential alive: exit %d %s", res.Code, reportSummary(rep))
	}
}

// One of three target namespaces holds the managed Secret made immutable by its tenant. The run
// replaces that Secret (deleted, created again mutable, holding the new credential) instead of
// letting it hold the old credential alive for every namespace: all three pull with the new
// credential, and the old robot is revoked after its grace period (1s) as if nothing happened.
func TestWedgeImmutableNamespace(t *testing.T) {
	const cred = "immutable"
	img := rig.Images["proj-a"]
	nss := namespaces(t, cred, 3)
	webDeployments(t, nss)
	cfg := wedgeConfig(t, cred, stateNS, nss, "1s")
	old := firstRotation(t, cred, cfg, nss)
	oldUser, oldPass := secretCredential(t, nss[2], "harbor-pull")
	makeImmutable(t, nss[2])

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	rep := onlyReport(t, res)
	if res.Code != 0 || rep.Issued == nil || rep.Issued.Name == old {
		t.Fatalf("the run must issue a new credential and succeed: exit %d %s\n%s", res.Code, reportSummary(rep), res.Stderr)
	}
	fresh := rep.Issued.Name
	if s := secretResult(rep, nss[2]); s == nil || s.Action != "replaced" {
		t.Errorf("the immutable secret in %s is not reported replaced: %+v", nss[2], s)
	}
	assertNamespacesPull(t, cred, nss, fresh)
	s, err := rig.Admin.CoreV1().Secrets(nss[2]).Get(context.Background(), "harbor-pull", metav1.GetOptions{})
	if err != nil || (s.Immutable != nil && *s.Immutable) {
		t.Fatalf("the replaced secret in %s: %v, immutable %v; want a mutable Secret", nss[2], err, s.Immutable)
	}

	time.Sleep(2 * time.Second) // the grace period has ended; nobody holds the old robot
	var history []string
	for run := 1; run <= 2 && robotExists(old); run++ {
		res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
		rep = onlyReport(t, res)
		history = append(history, fmt.Sprintf("run %d: exit %d %s", run, res.Code, reportSummary(rep)))
		if res.Code != 0 {
			t.Fatalf("a run after the replacement failed:\n%s\n%s", strings.Join(history, "\n"), res.Stderr)
		}
	}
	if robotExists(old) {
		t.Fatalf("the old robot %s was not revoked within two runs: the immutable secret of %s held it back:\n%s\nstate: %s", old, nss[2], strings.Join(history, "\n"), stateJSON(stateNS, cred))
	}
	mustNotPull(t, img, oldUser, oldPass, "the revoked old robot")
}

// allHoldPulling reports whether every namespace's Secret holds a credential other than dead
// that pulls; if not, why.
func allHoldPulling(nss []string, dead string) (bool, string) {
	for _, ns := range nss {
		s, err := rig.Admin.CoreV1().Secrets(ns).Get(context.Background(), "harbor-pull", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		cfg, err := pullsecret.ParseSecret(s)
		if err != nil {
			return false, fmt.Sprintf("%s: %v", ns, err)
		}
		e, _, ok := pullsecret.Match(cfg, rig.Images["proj-a"])
		if !ok {
			return false, ns + ": no auths key matches the image"
		}
		if e.Username == dead {
			return false, ns + " still holds the deleted robot " + dead
		}
		if err := pull(rig.Images["proj-a"], e.Username, e.Password); err != nil {
			return false, fmt.Sprintf("%s: %s does not pull: %v", ns, e.Username, err)
		}
	}
	return true, ""
}
