//go:build integration

package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The leader loses its lease in the middle of a rotation (after the first namespace is written):
// the rotation stops at a safe point after --shutdown-grace, every namespace keeps a working
// secret, the old credential still pulls, and the next run resumes the pending credential.
func TestLosingLeadershipMidRotation(t *testing.T) {
	nss, _ := rotatedOnce(t, "lead", 2)
	oldUser, oldPass := secretCredential(t, nss[0], "harbor-pull")
	cfg := rotatorConfig(t, cfgOpts{name: "lead", namespaces: nss, projects: []string{"proj-a"}, revokeAfter: "0s", schedule: "@every 3s"})
	svc := startServiceWith(t, faultBinary(t), []string{"ROTATOR_FAULTPOINT=write#1:pause=8s"}, cfg, "--shutdown-grace", "1s")

	eventually(t, 60*time.Second, "the scheduled rotation reaches its first write", func() (bool, string) {
		return strings.Contains(svc.stderr.String(), "faultpoint: pausing"), "not yet"
	})
	// Someone else takes the leader lease: the paused leader can no longer renew it.
	ctx := context.Background()
	lease, err := rig.Admin.CoordinationV1().Leases(stateNS).Get(ctx, "rotator-leader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	thief, long := "thief", int32(3600)
	now := metav1.NewMicroTime(time.Now())
	lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &thief, &now, &long
	if _, err := rig.Admin.CoordinationV1().Leases(stateNS).Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The leader lease is shared by every `rotator run` of the sandbox: give it back.
	t.Cleanup(func() {
		_ = rig.Admin.CoordinationV1().Leases(stateNS).Delete(context.Background(), "rotator-leader", metav1.DeleteOptions{})
	})
	eventually(t, 30*time.Second, "the rotation in hand stops after losing leadership", func() (bool, string) {
		return svc.metric("rotator_leader ") == 0 && strings.Contains(svc.stderr.String(), "run failed"), "still running"
	})
	for _, ns := range nss {
		u, p := secretCredential(t, ns, "harbor-pull")
		if err := pull(rig.Images["proj-a"], u, p); err != nil {
			t.Fatalf("namespace %s has no working secret after the lost leadership: %v", ns, err)
		}
	}
	if err := pull(rig.Images["proj-a"], oldUser, oldPass); err != nil {
		t.Fatalf("the old credential was revoked by an interrupted rotation: %v", err)
	}
	_ = svc.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = svc.cmd.Process.Wait()

	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 || res.Reports[0].Issued == nil || !strings.Contains(res.Reports[0].Decision, "resume") {
		t.Fatalf("the next run must resume the pending credential: exit %d %+v\n%s", res.Code, res.Reports, res.Stderr)
	}
	u0, _ := secretCredential(t, nss[0], "harbor-pull")
	u1, _ := secretCredential(t, nss[1], "harbor-pull")
	if u0 != u1 || u0 != res.Reports[0].Issued.Name {
		t.Fatalf("namespaces not completed with the resumed credential: %s %s", u0, u1)
	}
	if err := pull(rig.Images["proj-a"], oldUser, oldPass); err == nil {
		t.Fatal("the old credential survived the completed rotation (grace period 0)")
	}
}
