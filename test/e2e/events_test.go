//go:build integration

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/state"
)

// The Events of a rotation carry the UID of the object they are about, so `kubectl describe`
// shows them: the restart on the Deployment, the write on the managed Secret, the revocation on
// the state Secret.
func TestKubectlDescribeShowsTheRotatorsEvents(t *testing.T) {
	ns := namespaces(t, "evuid", 1)[0]
	if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1)); err != nil {
		t.Fatal(err)
	}
	cfg := rotatorConfig(t, cfgOpts{name: "evuid", namespaces: []string{ns}, projects: []string{"proj-a"}, revokeAfter: "0s", policy: "Always"})
	for i := 0; i < 2; i++ { // the second run revokes the first credential
		if res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json"); res.Code != 0 {
			t.Fatalf("rotate now: exit %d\n%s", res.Code, res.Stderr)
		}
	}
	// kubectl describe deployment lists the Events whose involved object has the Deployment's UID.
	out, err := kubectlWith(t, rig.AdminKubeconfig, "describe", "deployment", "web", "-n", ns)
	if err != nil || !strings.Contains(out, "RestartTriggered") {
		t.Errorf("kubectl describe deployment web: want a RestartTriggered Event in:\n%s (%v)", out, err)
	}
	// kubectl describe secret shows no Events at all (its describer prints none), so the Secrets'
	// are looked up the way kubectl looks up any object's: by involvedObject.uid.
	ctx := context.Background()
	for _, tc := range []struct{ ns, name, want string }{
		{ns, "harbor-pull", "CredentialRotated"},
		{stateNS, state.SecretName("evuid"), "CredentialRevoked"},
	} {
		s, err := rig.Admin.CoreV1().Secrets(tc.ns).Get(ctx, tc.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := rig.Admin.CoreV1().Events(tc.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(s.UID)})
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, e := range evs.Items {
			reasons = append(reasons, e.Reason)
		}
		if !slices.Contains(reasons, tc.want) {
			t.Errorf("secret %s/%s: Events by its UID %v, want %s among them", tc.ns, tc.name, reasons, tc.want)
		}
	}
}
