package rotation

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rotatorhq/rotator/internal/state"
)

// writeSecrets lets go of the plan's copy of each Secret it wrote (it predates the write; at
// 10,000 namespaces the copies would stay beside the new Secrets for the rest of the run), and
// keeps the copy of one whose write failed.
func TestWriteSecretsLetsGoOfThePlansCopiesItWrote(t *testing.T) {
	w := newWorld(t, "a", "b")
	must(t, w.rotate(Options{}), Succeeded)
	ctx := context.Background()
	r := w.runner()
	p, err := r.plan(ctx, w.cred(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.secrets) != 2 {
		t.Fatalf("the plan holds %d Secrets, want 2", len(p.secrets))
	}
	w.kube.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "b" {
			return true, nil, errors.New("the API server said no")
		}
		return false, nil, nil
	})
	rep := &Report{}
	content := contentOf(p, &state.Issued{ID: "next", Name: "robot-next", Username: "robot-next", Password: "pw"})
	if n := r.writeSecrets(ctx, p, content, rep); n != 1 {
		t.Fatalf("changed %d Secrets, want 1 (a)", n)
	}
	if _, ok := p.secrets["a"]; ok {
		t.Error("the plan still holds the Secret of a, which it wrote")
	}
	if _, ok := p.secrets["b"]; !ok {
		t.Error("the plan let go of the Secret of b, whose write failed")
	}
	if len(rep.Secrets) != 2 || rep.Secrets[0].Action != "updated" || rep.Secrets[1].Action != "failed" {
		t.Fatalf("report: %+v", rep.Secrets)
	}
}
