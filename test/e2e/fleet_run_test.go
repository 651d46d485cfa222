//go:build integration

package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// fleetFixture is three clusters, the rotator's own and two members, each with target
// namespaces of one label and a Deployment pulling with the managed Secret in each.
type fleetFixture struct {
	label    string
	m1, m2   *sandbox.Cluster
	clusters map[string]kubernetes.Interface // by the cluster's name in the config ("local" too)
	targets  map[string][]string
}

// newFleetFixture starts the two members and creates one target namespace in the rotator's
// own cluster and in member one, and twoTargets in member two.
func newFleetFixture(t *testing.T, prefix string, twoTargets int) *fleetFixture {
	t.Helper()
	ctx := context.Background()
	fx := &fleetFixture{label: fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1)), targets: map[string][]string{}}
	fx.m1 = startMember(t, prefix+"-one")
	fx.m2 = startMember(t, prefix+"-two")
	fx.clusters = map[string]kubernetes.Interface{"local": rig.Admin, fx.m1.Name: fx.m1.Admin, fx.m2.Name: fx.m2.Admin}
	for name, c := range fx.clusters {
		n := 1
		if name == fx.m2.Name {
			n = twoTargets
		}
		for i := range n {
			ns := fmt.Sprintf("%s-%d", fx.label, i)
			if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{fx.label: "true"}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.AppsV1().Deployments(ns).Create(ctx, sandbox.Deployment(ns, "web", rig.Images["proj-a"], "harbor-pull", 1), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			fx.targets[name] = append(fx.targets[name], ns)
		}
	}
	return fx
}

// member is a fleet member as the config names it: its name and the kubeconfig the rotator
// reaches it with.
type member struct{ name, kubeconfig string }

// config writes a fleet config: the members in the given order, kubernetes.concurrency 1 when
// serial (a cut falls among a member's namespaces), and credential cred targeting the fixture's
// label in the rotator's own cluster and both members (more credential fields in extra, at
// their indentation).
func (fx *fleetFixture) config(t *testing.T, file, cred string, serial bool, members []member, extra string) string {
	t.Helper()
	b := fmt.Sprintf("stateNamespace: %s\n", stateNS)
	if serial {
		b += "kubernetes:\n  concurrency: 1\n"
	}
	b += "clusters:\n"
	for _, m := range members {
		b += fmt.Sprintf("- name: %s\n  kubeconfigFrom: {file: %s}\n", m.name, m.kubeconfig)
	}
	return writeFile(t, file, b+harborCredentialYAML(cred, "1s",
		fmt.Sprintf("    namespaceSelector: %s\n    clusters: [local, %s, %s]\n", fx.label, fx.m1.Name, fx.m2.Name)+extra))
}

// credentialIDs is the credential id each target namespace of cluster holds ("" for none).
func (fx *fleetFixture) credentialIDs(cluster string) []string {
	var out []string
	for _, ns := range fx.targets[cluster] {
		s, err := fx.clusters[cluster].CoreV1().Secrets(ns).Get(context.Background(), "harbor-pull", metav1.GetOptions{})
		if err != nil {
			out = append(out, "")
			continue
		}
		out = append(out, s.Annotations[secretsync.AnnotationCredentialID])
	}
	return out
}

// held is the one credential id every target namespace of cluster holds, or "" while they
// differ or one holds none.
func (fx *fleetFixture) held(cluster string) string {
	ids := fx.credentialIDs(cluster)
	for _, id := range ids {
		if id == "" || id != ids[0] {
			return ""
		}
	}
	return ids[0]
}

// leaseHolder is the holder of Lease name in the rotator's namespace ("" for none).
func leaseHolder(name string) string {
	l, err := rig.Admin.CoordinationV1().Leases(stateNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func pidSuffix(s *service) string { return fmt.Sprintf("/%d", s.cmd.Process.Pid) }

// Two `rotator run` replicas share the three clusters of a fleet (each cluster a shard with a
// Lease of its own): both lead at least one, and every cluster gets a robot of its own and
// pulls. One replica killed with SIGKILL hands its clusters over to the other within the
// lease time, and the new leader of each issues nothing: no second credential.
func TestFleetRunShardsClustersAndHandsOverOnSIGKILL(t *testing.T) {
	const cred = "fleetrun"
	fx := newFleetFixture(t, "flr", 1)
	cfg := fx.config(t, "config-fleet-run.yaml", cred, false, []member{{fx.m1.Name, fx.m1.RotatorKubeconfig}, {fx.m2.Name, fx.m2.RotatorKubeconfig}}, "")
	leases := map[string]string{"local": "rotator-leader", fx.m1.Name: "rotator-leader." + fx.m1.Name, fx.m2.Name: "rotator-leader." + fx.m2.Name}
	a := startService(t, cfg)
	b := startService(t, cfg)

	// 1. The clusters are shared between the replicas, and each pulls with its own robot.
	held := map[string]string{}
	eventually(t, 120*time.Second, "every cluster holds a credential of its own", func() (bool, string) {
		for name := range fx.clusters {
			if held[name] = fx.held(name); held[name] == "" {
				return false, name + " not written yet: " + strings.Join(fx.credentialIDs(name), ",")
			}
		}
		return held["local"] != held[fx.m1.Name] && held[fx.m1.Name] != held[fx.m2.Name] && held["local"] != held[fx.m2.Name], fmt.Sprintf("shared: %v", held)
	})
	byReplica := map[*service][]string{}
	eventually(t, 30*time.Second, "both replicas lead a cluster", func() (bool, string) {
		byReplica = map[*service][]string{}
		for name, lease := range leases {
			h := leaseHolder(lease)
			for _, s := range []*service{a, b} {
				if strings.HasSuffix(h, pidSuffix(s)) {
					byReplica[s] = append(byReplica[s], name)
				}
			}
		}
		return len(byReplica[a]) > 0 && len(byReplica[b]) > 0 && len(byReplica[a])+len(byReplica[b]) == 3,
			fmt.Sprintf("a leads %v, b leads %v", byReplica[a], byReplica[b])
	})
	t.Logf("replica a leads %v, b leads %v", byReplica[a], byReplica[b])
	for s, names := range byReplica {
		for _, name := range names {
			if name != "local" && s.metric(fmt.Sprintf(`rotator_cluster_leading{cluster=%q}`, name)) != 1 {
				t.Errorf("the leader of %s does not say so in rotator_cluster_leading", name)
			}
		}
	}
	for name, c := range fx.clusters {
		for _, ns := range fx.targets[name] {
			eventually(t, 90*time.Second, "web of "+name+"/"+ns+" available", func() (bool, string) { return deploymentAvailableIn(c, ns, "web") })
		}
	}
	robots := len(robotsNamed(cred))
	if robots != 3 {
		t.Fatalf("%d robots of %s for three clusters", robots, cred)
	}

	// 2. The replica leading more clusters dies without releasing anything.
	victim, survivor := a, b
	if len(byReplica[b]) > len(byReplica[a]) {
		victim, survivor = b, a
	}
	killed := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the survivor leads every cluster", func() (bool, string) {
		var not []string
		for name, lease := range leases {
			if !strings.HasSuffix(leaseHolder(lease), pidSuffix(survivor)) {
				not = append(not, name)
			}
		}
		return len(not) == 0, fmt.Sprintf("not yet: %v", not)
	})
	took := time.Since(killed)
	t.Logf("hand-over of %v took %s (lease duration 4s)", byReplica[victim], took.Round(100*time.Millisecond))
	// The lease time (4 s) for the dead replica's announcement to age out, then its shard
	// Leases' own 4 s, which the survivor observed all along: well under three lease times.
	if took > 3*4*time.Second+3*time.Second {
		t.Errorf("hand-over took %s, lease duration 4s", took)
	}
	// The new leader of each cluster checks the credential at the provider and finds it alive.
	for _, name := range byReplica[victim] {
		metric := fmt.Sprintf(`rotator_liveness_checks_total{credential=%q,result="alive"}`, cred+"."+name)
		if name == "local" {
			metric = fmt.Sprintf(`rotator_liveness_checks_total{credential=%q,result="alive"}`, cred)
		}
		// 60 s: once, on a loaded machine, 30 s was not enough (cause not found: see the notes).
		eventually(t, 60*time.Second, "the new leader's check of "+name, func() (bool, string) { return survivor.metric(metric) >= 1, "not yet" })
	}
	for name := range fx.clusters {
		if now := fx.held(name); now != held[name] {
			t.Errorf("cluster %s holds %s after the hand-over, held %s before", name, now, held[name])
		}
	}
	if n := len(robotsNamed(cred)); n != robots {
		t.Fatalf("the hand-over issued a second credential: %d robots, %d before", n, robots)
	}
}

// `rotator run` keeps three clusters pulling while their credentials renew every 20 s; a member
// cut off in the middle of its run is reported (rotator_cluster_up 0, a ClusterUnreachable
// Event on its state Secret in the rotator's cluster), the two others go on rotating and revoke
// their old robots, and the cut member's old robot, held by its unwritten namespaces, survives
// until the member is back and rotated; then it goes.
func TestFleetRunOneClusterCutOffMidRun(t *testing.T) {
	const cred = "fleetcut"
	fx := newFleetFixture(t, "flc", 8) // written one at a time: the cut falls among them
	fx2 := fx.m2.Name
	gate := newTCPGate(t, fx.m2.KubeURL)
	cfg := fx.config(t, "config-fleet-cut.yaml", cred, true,
		[]member{{fx2, kubeconfigVia(t, fx.m2.RotatorKubeconfig, gate.url())}, {fx.m1.Name, fx.m1.RotatorKubeconfig}},
		"  renewBefore: 719h59m40s\n  allowFrequentRotation: true\n")
	svc := startServiceWith(t, rotatorBin, nil, cfg, "--cluster-probe", "1s")

	// 1. Every cluster gets its own credential.
	first := map[string]string{}
	eventually(t, 120*time.Second, "every cluster holds a credential", func() (bool, string) {
		for name := range fx.clusters {
			if first[name] = fx.held(name); first[name] == "" {
				return false, name + ": " + strings.Join(fx.credentialIDs(name), ",")
			}
		}
		return true, ""
	})
	firstUser := map[string]string{}
	firstPass := map[string]string{}
	for name, c := range fx.clusters {
		firstUser[name], firstPass[name] = secretCredentialIn(t, c, fx.targets[name][0], "harbor-pull")
	}

	// 2. Member two is cut off once its renewal has written the first of its namespaces.
	gate.slow(150 * time.Millisecond)
	stop := cutWhenRewritten(t, gate, fx.m2.Admin, fx.targets[fx2], first[fx2])
	eventually(t, 90*time.Second, "member two's renewal starts", func() (bool, string) {
		return gate.isCut(), "not cut yet"
	})
	cutAt := stop()
	var stillOld int
	for _, id := range fx.credentialIDs(fx2) {
		if id == first[fx2] {
			stillOld++
		}
	}
	t.Logf("%s cut off once %s held the new credential; %d of %d namespaces still hold the old one", fx2, cutAt, stillOld, len(fx.targets[fx2]))
	if stillOld == 0 {
		t.Fatalf("the cut came after the run had written every namespace of %s: not mid-run", fx2)
	}
	// The others rotate on and revoke their first robots; the cut one is reported.
	eventually(t, 90*time.Second, "the other clusters rotate and revoke", func() (bool, string) {
		for _, name := range []string{"local", fx.m1.Name} {
			if now := fx.held(name); now == "" || now == first[name] {
				return false, name + " not rotated yet"
			}
			if robotExists(firstUser[name]) {
				return false, name + "'s first robot not revoked yet"
			}
		}
		return true, ""
	})
	eventually(t, 30*time.Second, "the cut cluster is reported", func() (bool, string) {
		if v := svc.metric(fmt.Sprintf(`rotator_cluster_up{cluster=%q}`, fx2)); v != 0 {
			return false, fmt.Sprintf("rotator_cluster_up %v", v)
		}
		evs, err := rig.Admin.CoreV1().Events(stateNS).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, ev := range evs.Items {
			if ev.Reason == "ClusterUnreachable" && ev.InvolvedObject.Name == "rotator-state-"+cred+"."+fx2 {
				return true, ""
			}
		}
		return false, "no ClusterUnreachable Event on the state Secret"
	})
	time.Sleep(3 * time.Second) // more renewals of the others, each revoking after 1 s
	if !robotExists(firstUser[fx2]) || pull(rig.Images["proj-a"], firstUser[fx2], firstPass[fx2]) != nil {
		t.Fatalf("the old robot %s of the cut-off cluster was revoked while its namespaces hold it", firstUser[fx2])
	}

	// 3. Member two is back: its next try rotates it, and its old robot goes.
	gate.slow(0)
	gate.restore()
	eventually(t, 180*time.Second, "the member is rotated once back", func() (bool, string) {
		now := fx.held(fx2)
		if now == "" || now == first[fx2] {
			return false, strings.Join(fx.credentialIDs(fx2), ",")
		}
		return !robotExists(firstUser[fx2]), "old robot not revoked yet"
	})
	if v := svc.metric(fmt.Sprintf(`rotator_cluster_up{cluster=%q}`, fx2)); v != 1 {
		t.Errorf("rotator_cluster_up %v once the member is back", v)
	}
	mustNotPull(t, rig.Images["proj-a"], firstUser[fx2], firstPass[fx2], "the revoked old robot of "+fx2)
	for _, ns := range fx.targets["local"] {
		eventually(t, 90*time.Second, "web of local/"+ns+" available", func() (bool, string) { return deploymentAvailable(ns, "web") })
	}
}
