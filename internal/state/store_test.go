package state

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestStoreRoundTripKeepsPasswordsOutOfTheJSON(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	s := &Store{Client: c, Namespace: "rotator-system"}
	st, err := s.Load(ctx, "h")
	if err != nil || st.Current != nil {
		t.Fatalf("missing state must load empty: %+v %v", st, err)
	}
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	st.Current = &Issued{ID: "1", Name: "robot$a", Username: "robot$a", Password: "cur-secret", IssuedAt: now}
	st.Pending = &Issued{ID: "2", Name: "robot$b", Username: "robot$b", Password: "pend-secret", IssuedAt: now}
	if err := s.Save(ctx, "h", st); err != nil {
		t.Fatal(err)
	}
	sec, _ := c.CoreV1().Secrets("rotator-system").Get(ctx, SecretName("h"), metav1.GetOptions{})
	if js := string(sec.Data["state.json"]); strings.Contains(js, "secret") {
		t.Fatalf("a password is in state.json: %s", js)
	}
	got, err := s.Load(ctx, "h")
	if err != nil || got.Current.Password != "cur-secret" || got.Pending.Password != "pend-secret" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	got.Promote(now, now.Add(time.Hour))
	if got.Current.ID != "2" || got.Pending != nil || len(got.Retired) != 1 || got.Retired[0].ID != "1" {
		t.Fatalf("promote: %+v", got)
	}
	if !got.Known("1") || !got.Known("2") || got.Known("3") {
		t.Fatal("Known")
	}
}
