//go:build integration

package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
)

// The sandbox starts extra clusters on demand, the members of a fleet: each its own etcd,
// kube-apiserver, kube-controller-manager and node simulator. A pod of a member pulls from the
// rig's one registry with a robot of the rig's Harbor; the "rotator" user there has the shipped
// ClusterRole and nothing more; stopping one member leaves the other serving. The start time and
// memory of each member are logged (docs/fleet.md quotes them).
func TestSandboxStartsExtraClusters(t *testing.T) {
	ctx := context.Background()
	var members []*sandbox.Cluster
	for _, name := range []string{"member-a", "member-b"} {
		c, err := rig.StartCluster(ctx, name+"-"+time.Now().Format("150405"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		members = append(members, c)
	}
	for _, c := range members {
		rss, err := c.RSS()
		if err != nil || rss == 0 {
			t.Fatalf("RSS of %s: %d %v", c.Name, rss, err)
		}
		t.Logf("extra cluster %s: started in %s, %d MiB resident (etcd + kube-apiserver + kube-controller-manager)", c.Name, c.StartTime.Round(100*time.Millisecond), rss>>20)
	}
	a, b := members[0], members[1]

	// A pod of member a pulls from the rig's registry.
	const ns = "fleet-sbx"
	if _, err := a.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := robot(t, "fleet-sbx-", "proj-a")
	data, err := pullsecret.Build(rig.RegistryHost, r.Username, r.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pull"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.AppsV1().Deployments(ns).Create(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "pull", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "deployment of member "+a.Name+" available", func() (bool, string) { return deploymentAvailableIn(a.Admin, ns, "web") })
	if _, err := rig.Admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the member's Deployment is visible in the rig's first cluster: %v", err)
	}

	// The rotator user of a member holds the shipped ClusterRole and nothing more: it lists
	// namespaces, and it may not delete one (no role in the fleet's clusters grants that).
	rot := clientFromKubeconfig(t, a.RotatorKubeconfig)
	if _, err := rot.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Fatalf("the rotator user of %s cannot list namespaces: %v", a.Name, err)
	}
	if err := rot.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Fatalf("the rotator user of %s may delete a namespace: %v", a.Name, err)
	}

	// A member that goes away takes nothing else with it.
	b.Stop()
	if _, err := b.Admin.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
		t.Fatalf("member %s still answers after Stop", b.Name)
	}
	if err := a.Healthy(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("member %s stopped answering when %s stopped: %v", a.Name, b.Name, err)
	}
	if err := rig.Healthy(); err != nil {
		t.Fatal(err)
	}
}
