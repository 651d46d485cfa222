package bindguard

import (
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

var k = Key{Namespace: "ns", ServiceAccount: "app", Secret: "pull"}

// step is one thing the rotator sees or does: "absent" (Check on a new version without the
// entry, then Added if the verdict is Bind), "stale" (Check on the version the last patch was
// made against), "present" (Present on a new version), "wait <duration>", "recreate" (a new UID).
type step struct {
	do   string
	want Verdict
	// resolved is Present's answer.
	resolved bool
}

func TestGuard(t *testing.T) {
	fight := []step{{do: "absent"}, {do: "present"}, {do: "absent"}, {do: "present"}, {do: "absent"}, {do: "present"}}
	tests := []struct {
		name  string
		steps []step
		// removalsAtEnd is the Removals of the last Check.
		removalsAtEnd int
	}{
		{"a new ServiceAccount is bound", []step{{do: "absent"}}, 0},
		{"an entry removed once is re-added", fight[:4:4], 1},
		{"the third removal gives up, and it stays given up",
			append(append([]step{}, fight...), step{do: "absent", want: GiveUp}, step{do: "absent", want: GivenUp}, step{do: "wait 59m"}, step{do: "absent", want: GivenUp}), 3},
		{"a cache lagging behind the rotator's patch is no removal",
			[]step{{do: "absent"}, {do: "stale"}, {do: "stale"}, {do: "stale"}, {do: "stale"}}, 0},
		{"a view older than the version the rotator patched is no removal",
			[]step{{do: "absent"}, {do: "older"}, {do: "older"}, {do: "older"}, {do: "absent"}}, 1},
		{"removals further apart than the window never give up",
			[]step{{do: "absent"}, {do: "wait 6m"}, {do: "absent"}, {do: "wait 6m"}, {do: "absent"}, {do: "wait 6m"}, {do: "absent"}, {do: "wait 6m"}, {do: "absent"}}, 2},
		{"the owner putting the entry in its manifest ends the give-up",
			append(append([]step{}, fight...), step{do: "absent", want: GiveUp}, step{do: "present", resolved: true}, step{do: "absent"}), 1},
		{"after GiveUpFor one attempt, and one more removal gives up again",
			append(append([]step{}, fight...), step{do: "absent", want: GiveUp}, step{do: "wait 61m"}, step{do: "absent"}, step{do: "absent", want: GiveUp}), 3},
		{"a recreated ServiceAccount starts afresh",
			append(append([]step{}, fight...), step{do: "absent", want: GiveUp}, step{do: "recreate"}, step{do: "absent"}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Unix(1700000000, 0))
			g := &Guard{Clock: clk, Self: "rotator"}
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", UID: "u1", ResourceVersion: "1"}}
			rv := 1
			next := func() {
				rv++
				sa = sa.DeepCopy()
				sa.ResourceVersion = strconv.Itoa(rv)
			}
			var last Decision
			for i, s := range tt.steps {
				switch {
				case s.do == "absent" || s.do == "stale" || s.do == "older":
					switch s.do {
					case "absent":
						next()
					case "older": // the cache has not seen even the version the patch was made against
						sa = sa.DeepCopy()
						sa.ResourceVersion = strconv.Itoa(rv - 1)
					}
					last = g.Check(k, sa)
					if last.Verdict != s.want {
						t.Fatalf("step %d (%s): verdict %v, want %v (%+v)", i, s.do, last.Verdict, s.want, last)
					}
					if last.Verdict == Bind {
						g.Added(k, sa, sa.ResourceVersion)
					}
				case s.do == "present":
					next()
					if got := g.Present(k, sa); got != s.resolved {
						t.Fatalf("step %d: Present resolved %v, want %v", i, got, s.resolved)
					}
				case s.do == "recreate":
					sa = sa.DeepCopy()
					sa.UID = types.UID("u" + strconv.Itoa(rv))
				case len(s.do) > 5 && s.do[:5] == "wait ":
					d, err := time.ParseDuration(s.do[5:])
					if err != nil {
						t.Fatal(err)
					}
					clk.SetTime(clk.Now().Add(d))
				default:
					t.Fatalf("unknown step %q", s.do)
				}
			}
			if last.Removals != tt.removalsAtEnd {
				t.Errorf("removals at the end: %d, want %d", last.Removals, tt.removalsAtEnd)
			}
		})
	}
}

func TestGuardGaugeAndNil(t *testing.T) {
	var nilGuard *Guard
	if d := nilGuard.Check(k, &corev1.ServiceAccount{}); d.Verdict != Bind {
		t.Fatalf("a nil Guard must always bind, got %v", d.Verdict)
	}
	clk := clocktesting.NewFakePassiveClock(time.Unix(1700000000, 0))
	g := &Guard{Clock: clk, Threshold: 1}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{UID: "u", ResourceVersion: "1"}}
	g.Check(k, sa)
	g.Added(k, sa, sa.ResourceVersion)
	sa.ResourceVersion = "3"
	if d := g.Check(k, sa); d.Verdict != GiveUp {
		t.Fatalf("threshold 1: %v", d.Verdict)
	}
	if n := g.GivenUp(); n != 1 {
		t.Fatalf("given up: %d", n)
	}
	clk.SetTime(clk.Now().Add(DefaultGiveUpFor))
	if n := g.GivenUp(); n != 0 {
		t.Fatalf("given up after the period: %d", n)
	}
}

func TestRemoverNamesTheOtherManager(t *testing.T) {
	at := func(min int) *metav1.Time { t := metav1.NewTime(time.Unix(1700000000+int64(min)*60, 0)); return &t }
	fields := metav1.NewFieldsV1
	tests := []struct {
		name string
		mf   []metav1.ManagedFieldsEntry
		want string
	}{
		{"the applier owning the atomic list", []metav1.ManagedFieldsEntry{
			{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(9), FieldsV1: fields(`{"f:metadata":{"f:labels":{}}}`)},
			{Manager: "argocd-controller", Operation: metav1.ManagedFieldsOperationApply, Time: at(5), FieldsV1: fields(`{"f:imagePullSecrets":{}}`)},
		}, "argocd-controller"},
		{"an update that dropped the field: the last writer other than the rotator", []metav1.ManagedFieldsEntry{
			{Manager: "rotator", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(9), FieldsV1: fields(`{"f:imagePullSecrets":{}}`)},
			{Manager: "helm", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(8), FieldsV1: fields(`{"f:metadata":{"f:labels":{}}}`)},
			{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(1), FieldsV1: fields(`{"f:secrets":{}}`)},
		}, "helm"},
		{"an applier next to the API server's before-first-apply", []metav1.ManagedFieldsEntry{
			{Manager: "kustomize-controller", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: fields(`{"f:imagePullSecrets":{}}`)},
			{Manager: "before-first-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(3), FieldsV1: fields(`{"f:imagePullSecrets":{}}`)},
		}, "kustomize-controller"},
		{"nobody but the rotator", []metav1.ManagedFieldsEntry{
			{Manager: "rotator", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(9), FieldsV1: fields(`{"f:imagePullSecrets":{}}`)},
		}, ""},
	}
	g := &Guard{Self: "rotator"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.Remover(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{ManagedFields: tt.mf}}); got != tt.want {
				t.Fatalf("remover %q, want %q", got, tt.want)
			}
		})
	}
}
