package doctor

import (
	"context"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		arg        string
		all        bool
		kind, name string
		bad        bool
	}{
		{"", false, "", "", false},
		{"", true, "", "", false},
		{"web-5d9c-abcde", false, "pod", "web-5d9c-abcde", false},
		{"pod/web-1", false, "pod", "web-1", false},
		{"po/web-1", false, "pod", "web-1", false},
		{"deployment/web", false, "deployment", "web", false},
		{"deploy/web", false, "deployment", "web", false},
		{"Deployments/web", false, "deployment", "web", false},
		{"sts/db", false, "statefulset", "db", false},
		{"daemonset/agent", false, "daemonset", "agent", false},
		{"web", true, "", "", true},
		{"cronjob/nightly", false, "", "", true},
		{"deployment/", false, "", "", true},
		{"deployment/a/b", false, "", "", true},
	}
	for _, tt := range tests {
		got, err := ParseTarget("shop", tt.arg, tt.all)
		if tt.bad {
			if !errors.Is(err, ErrTarget) {
				t.Errorf("ParseTarget(%q, %v): err %v, want ErrTarget", tt.arg, tt.all, err)
			}
			continue
		}
		if err != nil || got.Kind != tt.kind || got.Name != tt.name || got.Namespace != "shop" {
			t.Errorf("ParseTarget(%q, %v) = %+v, %v", tt.arg, tt.all, got, err)
		}
	}
}

// deployment/NAME diagnoses the Deployment's pods, each named with the Deployment as owner (found
// from the ReplicaSet's name, without reading the ReplicaSet), and a missing target is ErrTarget.
func TestWorkloadTargetAndOwner(t *testing.T) {
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}
	mine := pod("web-5d9c8-abcde", testImage, "", "")
	mine.Labels = map[string]string{"app": "web", "pod-template-hash": "5d9c8"}
	mine.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d9c8", Controller: ptr.To(true)}}
	lone := pod("lone", testImage, "", "")
	sts := pod("db-0", testImage, "", "")
	sts.Labels = map[string]string{"app": "db"}
	sts.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: ptr.To(true)}}
	d := &Doctor{Kube: newKube(dep, mine, lone, sts)}
	ctx := context.Background()

	rep, err := d.Diagnose(ctx, Target{Namespace: testNS, Kind: "deployment", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pods) != 1 || rep.Pods[0].Name != mine.Name || rep.Pods[0].Owner != "deployment/web" || !rep.Healthy {
		t.Fatalf("pods %+v", rep.Pods)
	}
	rep, err = d.Diagnose(ctx, Target{Namespace: testNS})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, p := range rep.Pods {
		owners[p.Name] = p.Owner
	}
	if owners["lone"] != "" || owners["db-0"] != "statefulset/db" || owners[mine.Name] != "deployment/web" || len(owners) != 3 {
		t.Errorf("owners %v", owners)
	}
	for _, tgt := range []Target{{Namespace: testNS, Kind: "deployment", Name: "api"}, {Namespace: testNS, Kind: "pod", Name: "nope"}} {
		if _, err := d.Diagnose(ctx, tgt); !errors.Is(err, ErrTarget) {
			t.Errorf("%s: err %v, want ErrTarget", tgt, err)
		}
	}
}

// The fix of a Deployment's pod restarts the Deployment; a bare pod's says it must be recreated.
func TestRestartFix(t *testing.T) {
	tests := []struct {
		owner string
		want  []string
	}{
		{"deployment/web", []string{"kubectl rollout restart deployment/web -n shop"}},
		{"statefulset/db", []string{"kubectl rollout restart statefulset/db -n shop"}},
		{"", []string{"# a bare pod is recreated by nobody: delete it and create it again from its manifest", "kubectl delete pod p -n shop"}},
		{"job/nightly", []string{"kubectl delete pod p -n shop  # job/nightly creates a new one"}},
	}
	for _, tt := range tests {
		got := fixCtx{ns: "shop", pod: "p", owner: tt.owner}.restart()
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %q", tt.owner, got)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: %q, want %q", tt.owner, got[i], tt.want[i])
			}
		}
	}
}
