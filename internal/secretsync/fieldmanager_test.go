package secretsync

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Every write of a Secret or a ServiceAccount names the rotator's field manager: a GitOps tool
// told to ignore fields of manager "rotator" (docs/gitops.md) then leaves them alone.
func TestEveryWriteNamesTheFieldManager(t *testing.T) {
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", ResourceVersion: "1"}}
	c := fake.NewClientset(sa)
	w := &Writer{Client: c}
	if _, _, err := w.Write(ctx, "ns", "pull", content("p1"), nil, ours); err != nil {
		t.Fatal(err)
	}
	s, _ := c.CoreV1().Secrets("ns").Get(ctx, "pull", metav1.GetOptions{})
	if _, _, err := w.Write(ctx, "ns", "pull", content("p2"), s, ours); err != nil {
		t.Fatal(err)
	}
	if _, err := Bind(ctx, c, "ns", "app", "pull", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Unbind(ctx, c, "ns", "app", "pull", nil); err != nil {
		t.Fatal(err)
	}
	writes := 0
	for _, a := range c.Actions() {
		var got string
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			got = a.CreateOptions.FieldManager
		case k8stesting.UpdateActionImpl:
			got = a.UpdateOptions.FieldManager
		case k8stesting.PatchActionImpl:
			got = a.PatchOptions.FieldManager
		default:
			continue
		}
		writes++
		if got != fieldmanager.Name {
			t.Errorf("%s %s %s: field manager %q, want %q", a.GetVerb(), a.GetResource().Resource, a.GetNamespace(), got, fieldmanager.Name)
		}
	}
	if writes < 4 {
		t.Fatalf("only %d writes seen: the test no longer exercises create, update and both patches", writes)
	}
}
