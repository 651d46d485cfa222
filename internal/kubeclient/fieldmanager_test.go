package kubeclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Writes client-go makes on the rotator's behalf with options of its own (the leader lease)
// get the field manager too; one that names its own keeps it; reads get none.
func TestClientsNameTheFieldManagerOnEveryWrite(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Method] = r.URL.Query().Get("fieldManager")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l"}}`))
	}))
	defer srv.Close()
	cs, err := New(&rest.Config{Host: srv.URL}, "rotator-test", 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leases := cs.Main.CoordinationV1().Leases("ns")
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}
	if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Patch(ctx, "l", "application/merge-patch+json", []byte(`{}`), metav1.PatchOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Get(ctx, "l", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"POST": fieldmanager.Name, "PUT": fieldmanager.Name, "PATCH": "someone", "GET": ""}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("%s: fieldManager %q, want %q", m, got[m], w)
		}
	}
}
