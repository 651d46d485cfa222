//go:build integration

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/harbor"
)

// harborAdmin is a Harbor provider with the sandbox's admin credentials, to make robots by hand.
func harborAdmin(t *testing.T) *harbor.Provider {
	t.Helper()
	p, err := harbor.New(harbor.Options{URL: rig.HarborURL, Username: rig.HarborUsername, Password: rig.HarborPassword})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func robot(t *testing.T, prefix string, projects ...string) providers.Credential {
	t.Helper()
	c, err := harborAdmin(t).Issue(context.Background(), providers.Spec{Credential: "manual", NamePrefix: prefix, Projects: projects, Lifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pullSecret(t *testing.T, ns, secretName, username, password string) {
	t.Helper()
	data, err := pullsecret.Build(rig.RegistryHost, username, password)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rig.Admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// A valid robot in the pod's pull secret: the node simulator's real pull succeeds and the
// Deployment becomes Available; changing the template rolls it out through a new ReplicaSet.
func TestSandboxValidRobotPullsAndTemplateChangeRollsOut(t *testing.T) {
	ns := namespaces(t, "sbx-ok", 1)[0]
	r := robot(t, "sbx-ok-", "proj-a")
	pullSecret(t, ns, "pull", r.Username, r.Password)
	if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "pull", 2)); err != nil {
		t.Fatal(err)
	}
	waitAvailable(t, ns, "web")
	first := replicaSets(t, ns)

	patch := `{"spec":{"template":{"metadata":{"annotations":{"test/changed":"1"}}}}}`
	if _, err := rig.Admin.AppsV1().Deployments(ns).Patch(context.Background(), "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "rollout through a new ReplicaSet", func() (bool, string) {
		rs := replicaSets(t, ns)
		if len(rs) != len(first)+1 {
			return false, fmt.Sprintf("replicasets: %v", rs)
		}
		return deploymentAvailable(ns, "web")
	})
	// The old ReplicaSet is scaled to zero: every pod now comes from the new template.
	for _, rs := range listReplicaSets(t, ns) {
		if rs.Name == first[0] && *rs.Spec.Replicas != 0 {
			t.Fatalf("old replicaset %s still wants %d pods", rs.Name, *rs.Spec.Replicas)
		}
	}
}

// Broken credentials: the pod reports ErrImagePull with a 401/403 Event in kubelet's words, and
// the Deployment never becomes Available.
func TestSandboxBrokenCredentialsFailThePull(t *testing.T) {
	cases := map[string]func(t *testing.T) (string, string){
		"deleted robot": func(t *testing.T) (string, string) {
			r := robot(t, "sbx-del-", "proj-a")
			id := r.ID
			if err := harborAdmin(t).Revoke(context.Background(), providers.Spec{NamePrefix: "sbx-del-", Projects: []string{"proj-a"}}, id); err != nil {
				t.Fatal(err)
			}
			return r.Username, r.Password
		},
		"wrong password": func(t *testing.T) (string, string) {
			r := robot(t, "sbx-pw-", "proj-a")
			return r.Username, r.Password + "x"
		},
		"robot of another project": func(t *testing.T) (string, string) {
			r := robot(t, "sbx-other-", "proj-b")
			return r.Username, r.Password
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			ns := namespaces(t, "sbx-bad", 1)[0]
			user, pass := mk(t)
			pullSecret(t, ns, "pull", user, pass)
			if err := rig.Apply(context.Background(), sandbox.Deployment(ns, "web", rig.Images["proj-a"], "pull", 1)); err != nil {
				t.Fatal(err)
			}
			reason, event := pullFailure(t, ns, "web")
			if reason != "ErrImagePull" && reason != "ImagePullBackOff" {
				t.Fatalf("waiting reason %q", reason)
			}
			if !strings.Contains(event, "401") && !strings.Contains(event, "403") &&
				!strings.Contains(strings.ToLower(event), "unauthorized") && !strings.Contains(strings.ToLower(event), "denied") {
				t.Fatalf("event does not carry the registry's 401/403: %q", event)
			}
			// Never Available while the credential is broken (the simulator keeps retrying).
			time.Sleep(3 * time.Second)
			if ok, msg := deploymentAvailable(ns, "web"); ok {
				t.Fatalf("deployment became available with a broken credential: %s", msg)
			}
		})
	}
}

func replicaSets(t *testing.T, ns string) []string {
	var out []string
	for _, rs := range listReplicaSets(t, ns) {
		out = append(out, rs.Name)
	}
	return out
}

func listReplicaSets(t *testing.T, ns string) []appsv1.ReplicaSet {
	t.Helper()
	l, err := rig.Admin.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}
