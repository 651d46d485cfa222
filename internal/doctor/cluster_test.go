package doctor

import (
	"context"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/state"
)

// In a fleet member the doctor reads the rotator's state from the rotator's own cluster
// (StateKube), under the member's key: not the state of the credential's local cluster, and not
// from the member. The report names the member, and the rotator's fix rotates only it.
func TestDoctorInAMemberReadsItsStateFromTheRotatorsCluster(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		states  map[string]string // key -> current id, in the rotator's own cluster
		member  bool              // the states are saved in the member instead
		want    string
		wantNot string
	}{
		{name: "the member's own state", states: map[string]string{"harbor-main.east": "12", "harbor-main": "99"}, want: "it is the rotator's current credential"},
		{name: "only the local cluster's state", states: map[string]string{"harbor-main": "12"},
			want: "the rotator has no state for it in namespace rotator-system of the rotator's own cluster", wantNot: "current credential"},
		{name: "a state in the member is not the rotator's", states: map[string]string{"harbor-main.east": "12"}, member: true,
			want: "no state for it in namespace rotator-system of the rotator's own cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSecret(testNS, "harbor-pull", testHost)
			s.Labels = map[string]string{"app.kubernetes.io/managed-by": "rotator", "rotator.dev/credential": "harbor-main"}
			s.Annotations = map[string]string{"rotator.dev/credential-id": "12", "rotator.dev/credential-name": "robot$shop+rotator-harbor-main-12"}
			member := newKube(append(failingPod(testImage, unauthorized, "harbor-pull"), s)...)
			home := newKube()
			where := home
			if tc.member {
				where = member
			}
			for key, id := range tc.states {
				if err := (&state.Store{Client: where, Namespace: "rotator-system"}).Save(context.Background(), key, &state.State{Current: &state.Issued{ID: id, Password: testPass}}); err != nil {
					t.Fatal(err)
				}
			}
			d := &Doctor{Kube: member, StateKube: home, Cluster: "east", StateNamespace: "rotator-system", Clock: clocktesting.NewFakePassiveClock(now)}
			rep := diagnose(t, d)
			c := only(t, rep)
			if rep.Cluster != "east" || c.Cause.Code != RegistryRefused {
				t.Fatalf("cluster %q cause %s", rep.Cluster, c.Cause.Code)
			}
			if !strings.Contains(c.Cause.Explanation, tc.want) || tc.wantNot != "" && strings.Contains(c.Cause.Explanation, tc.wantNot) {
				t.Errorf("explanation, want %q (not %q):\n%s", tc.want, tc.wantNot, c.Cause.Explanation)
			}
			if len(c.Cause.Fix) != 1 || !strings.HasSuffix(c.Cause.Fix[0], "--credential harbor-main --cluster east") {
				t.Errorf("fix %q: want the rotation of cluster east only", c.Cause.Fix)
			}
		})
	}
}
