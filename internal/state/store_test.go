package state

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// A revoked credential stays ours by its id, for the last MaxRevoked of them: a namespace that
// left the targets keeps its Secret, and comes back holding one of them.
func TestOursRemembersRevokedIDs(t *testing.T) {
	now := time.Now()
	st := &State{Current: &Issued{ID: "1"}}
	st.Retire(now, now)
	st.DropRetired("1")
	if st.Known("1") || !st.Ours("1") || st.Ours("2") || st.Ours("") {
		t.Fatalf("Ours after revoking 1: known %v ours(1) %v ours(2) %v", st.Known("1"), st.Ours("1"), st.Ours("2"))
	}
	for i := range MaxRevoked + 5 {
		st.DropRetired(fmt.Sprint(100 + i))
	}
	if len(st.Revoked) != MaxRevoked || st.Ours("1") || !st.Ours(fmt.Sprint(100+MaxRevoked+4)) {
		t.Fatalf("Revoked is not bounded to the newest %d: %d kept, ours(1) %v", MaxRevoked, len(st.Revoked), st.Ours("1"))
	}
}

// List finds the states of a namespace by their label alone: a Secret given the label but not
// named after it is not a state, and a corrupt one is listed with its error.
func TestStoreListFindsStatesByLabel(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	s := &Store{Client: c, Namespace: "rotator-system"}
	for _, name := range []string{"b", "a"} {
		if err := s.Save(ctx, name, &State{Current: &Issued{ID: "id-" + name, Name: "robot$" + name, Password: "pw"}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, sec := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "impostor", Namespace: "rotator-system", Labels: map[string]string{LabelStateOf: "c"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: SecretName("d"), Namespace: "rotator-system", Labels: map[string]string{LabelStateOf: "d"}},
			Data: map[string][]byte{"state.json": []byte("{")}},
		{ObjectMeta: metav1.ObjectMeta{Name: SecretName("e"), Namespace: "elsewhere", Labels: map[string]string{LabelStateOf: "e"}}},
	} {
		if _, err := c.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range got {
		names = append(names, l.Credential)
	}
	if fmt.Sprint(names) != "[a b d]" {
		t.Fatalf("listed %v, want [a b d]", names)
	}
	if got[0].State.Current.ID != "id-a" || got[0].Err != nil || got[2].Err == nil || got[2].State != nil {
		t.Fatalf("listed %+v", got)
	}
}

func TestSplitKeyReadsTheMemberOutOfTheStateKey(t *testing.T) {
	for _, tc := range []struct{ key, cred, cluster string }{
		{"harbor-main", "harbor-main", ""},
		{"harbor-main.east", "harbor-main", "east"},
		{"a.b-2", "a", "b-2"},
	} {
		if cred, cluster := SplitKey(tc.key); cred != tc.cred || cluster != tc.cluster {
			t.Errorf("SplitKey(%q) = %q, %q; want %q, %q", tc.key, cred, cluster, tc.cred, tc.cluster)
		}
	}
}
