package rotation

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/rotatorhq/rotator/internal/state"
)

// A fleet member's runner writes to the member and keeps its state in the rotator's own
// cluster under "<credential>.<cluster>", names its credentials with its own installation tag,
// and reports its cluster; the rotator's own cluster keeps a credential and a state of its own,
// and neither run revokes the other's credential.
func TestMemberRunnerKeepsItsOwnStateAndCredential(t *testing.T) {
	w := newWorld(t, "a")
	ctx := context.Background()
	member := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	withResourceVersions(member)
	home := &state.Store{Client: w.kube, Namespace: "rotator-system"}
	east := w.runner()
	east.Kube, east.States, east.Cluster, east.Installation = member, home, "east", "e4571234"

	rep := east.Rotate(ctx, w.cred(), Options{IfDue: true, SkipRolloutWait: true})
	must(t, rep, Succeeded)
	if rep.Cluster != "east" || rep.Issued == nil || !strings.HasSuffix(rep.Issued.Name, "-e4571234") {
		t.Fatalf("member report: cluster %q issued %+v; want cluster east and a name tagged -e4571234", rep.Cluster, rep.Issued)
	}
	if _, err := member.CoreV1().Secrets("a").Get(ctx, "pull", metav1.GetOptions{}); err != nil {
		t.Fatalf("the member's target Secret: %v", err)
	}
	if _, err := w.kube.CoreV1().Secrets("a").Get(ctx, "pull", metav1.GetOptions{}); err == nil {
		t.Fatal("the member's runner wrote to the rotator's own cluster")
	}
	memberState, err := home.Load(ctx, "h.east")
	if err != nil || memberState.Current == nil || memberState.Current.ID != rep.Issued.ID {
		t.Fatalf("the member's state in the rotator's namespace (rotator-state-h.east): %+v %v", memberState, err)
	}
	if st := w.state(); st.Current != nil {
		t.Fatalf("the member's run wrote the rotator's own state of h: %s", w.stateJSON())
	}

	local := w.rotate(Options{IfDue: true})
	must(t, local, Succeeded)
	if local.Cluster != "" || local.Issued == nil || local.Issued.ID == rep.Issued.ID {
		t.Fatalf("the rotator's own cluster shares the member's credential: %+v", local.Issued)
	}
	w.prov.calls = nil
	must(t, w.rotate(Options{}), Succeeded) // rotates the local credential, revokes the old local one
	if slices.Contains(w.prov.calls, "revoke "+rep.Issued.ID) {
		t.Fatalf("the rotator's own run revoked the member's credential: %s", fmtCalls(w.prov.calls))
	}
	if again, _ := home.Load(ctx, "h.east"); again.Current == nil || again.Current.ID != rep.Issued.ID {
		t.Fatalf("the member's state changed under the local runs: %+v", again)
	}
}
