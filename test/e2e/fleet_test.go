//go:build integration

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/internal/secretsync"
)

// One `rotate now` keeps three clusters pulling: the rotator's own and two fleet members, each
// with a robot of its own (one per credential and cluster) and its state in the rotator's
// namespace. A member cut off in the middle of a run (its API server behind a TCP gate, closed
// once the run has written the first of its eight namespaces) is reported (exit 1, its address
// named) while the two others finish and then revoke their old robots; the cut member's old
// robot, still held by its unwritten namespaces, survives every run until the member is back
// and rotated, and then goes.
func TestFleetRotateNowThreeClustersOneUnreachable(t *testing.T) {
	const cred = "fleet"
	ctx := context.Background()
	img := rig.Images["proj-a"]
	fx := newFleetFixture(t, "fl", 8) // member two's written one at a time: the cut falls among them
	m1, m2, clusters, targets := fx.m1, fx.m2, fx.clusters, fx.targets
	gate := newTCPGate(t, m2.KubeURL)
	// Member two comes first in the config: a run that stopped at the first unreachable
	// cluster would leave member one unrotated.
	m2Kubeconfig := kubeconfigVia(t, m2.RotatorKubeconfig, gate.url())
	cfg := fx.config(t, "config-fleet.yaml", cred, true, []member{{m2.Name, m2Kubeconfig}, {m1.Name, m1.RotatorKubeconfig}}, "")

	// 1. Every cluster gets a robot of its own, and pulls with it.
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || len(res.Reports) != 3 {
		t.Fatalf("first fleet rotation: exit %d, %d reports\n%s\n%s", res.Code, len(res.Reports), res.Stdout, res.Stderr)
	}
	first := issuedByCluster(t, res.Reports)
	if first["local"] == first[m1.Name] || first[m1.Name] == first[m2.Name] || first["local"] == first[m2.Name] {
		t.Fatalf("the clusters share a robot: %v", first)
	}
	oldUser := map[string]string{}
	oldPass := map[string]string{}
	for name, c := range clusters {
		for _, ns := range targets[name] {
			u, p := secretCredentialIn(t, c, ns, "harbor-pull")
			if u != first[name] {
				t.Fatalf("cluster %s namespace %s holds %s, want its own robot %s", name, ns, u, first[name])
			}
			oldUser[name], oldPass[name] = u, p
			eventually(t, 90*time.Second, "web of "+name+"/"+ns+" available", func() (bool, string) { return deploymentAvailableIn(c, ns, "web") })
		}
	}
	for _, st := range []string{"rotator-state-" + cred, "rotator-state-" + cred + "." + m1.Name, "rotator-state-" + cred + "." + m2.Name} {
		if _, err := rig.Admin.CoreV1().Secrets(stateNS).Get(ctx, st, metav1.GetOptions{}); err != nil {
			t.Errorf("state %s/%s in the rotator's own cluster: %v", stateNS, st, err)
		}
	}

	// 2. Member two is cut off in the middle of the next rotation, once it holds the new robot
	// in one namespace: the fleet's run reports it and finishes the others.
	var oldID string
	for _, rep := range res.Reports {
		if clusterOf(rep) == m2.Name {
			oldID = rep.Issued.ID
		}
	}
	gate.slow(150 * time.Millisecond)
	stopWatch := cutWhenRewritten(t, gate, m2.Admin, targets[m2.Name], oldID)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	cutAt := stopWatch()
	if cutAt == "" {
		t.Fatalf("the run wrote no namespace of %s before it ended: no cut mid-run\n%s", m2.Name, res.Stderr)
	}
	var stillOld int
	for _, ns := range targets[m2.Name] {
		if u, _ := secretCredentialIn(t, m2.Admin, ns, "harbor-pull"); u == first[m2.Name] {
			stillOld++
		}
	}
	t.Logf("%s cut off once %s held the new robot; %d of its %d namespaces still hold the old one", m2.Name, cutAt, stillOld, len(targets[m2.Name]))
	if stillOld == 0 {
		t.Fatalf("the cut came after the run had written every namespace of %s: not mid-run", m2.Name)
	}
	if res.Code != 1 || len(res.Reports) != 3 {
		t.Fatalf("rotation with %s cut off: exit %d, %d reports, want exit 1 and three\n%s\n%s", m2.Name, res.Code, len(res.Reports), res.Stdout, res.Stderr)
	}
	for _, rep := range res.Reports {
		cluster := clusterOf(rep)
		switch {
		case cluster == m2.Name && (rep.Result != rotation.Failed || !strings.Contains(strings.Join(rep.Errors, "\n"), gate.addr)):
			t.Errorf("the cut-off cluster's report: %s %v, want failed naming %s", rep.Result, rep.Errors, gate.addr)
		case cluster != m2.Name && (rep.Result != rotation.Succeeded || rep.Issued == nil):
			t.Errorf("cluster %s did not rotate while %s was cut off: %s %v", cluster, m2.Name, rep.Result, rep.Errors)
		}
	}
	time.Sleep(2 * time.Second) // the grace period (1s) of the old robots ends
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 1 {
		t.Errorf("the check with %s still cut off: exit %d, want 1", m2.Name, res.Code)
	}
	for _, name := range []string{"local", m1.Name} {
		if robotExists(first[name]) {
			t.Errorf("the old robot %s of cluster %s was not revoked while %s was cut off", first[name], name, m2.Name)
		}
	}
	if !robotExists(first[m2.Name]) || pull(img, oldUser[m2.Name], oldPass[m2.Name]) != nil {
		t.Fatalf("the old robot %s of the cut-off cluster %s was revoked: its namespaces still hold it", first[m2.Name], m2.Name)
	}

	// 3. Member two is back: the next run finishes it, and its old robot goes after the grace
	// period.
	gate.slow(0)
	gate.restore()
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--cluster", m2.Name, "--if-due", "-o", "json")
	if res.Code != 0 || len(res.Reports) != 1 || clusterOf(res.Reports[0]) != m2.Name {
		t.Fatalf("rotation of %s once back: exit %d\n%s\n%s", m2.Name, res.Code, res.Stdout, res.Stderr)
	}
	var now string
	for _, ns := range targets[m2.Name] {
		u, _ := secretCredentialIn(t, m2.Admin, ns, "harbor-pull")
		if u == first[m2.Name] || (now != "" && u != now) {
			t.Fatalf("cluster %s namespace %s holds %s after it was back and rotated (others: %s)", m2.Name, ns, u, now)
		}
		now = u
	}
	time.Sleep(2 * time.Second)
	res = runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "--if-due", "-o", "json")
	if res.Code != 0 || robotExists(first[m2.Name]) {
		t.Fatalf("after %s was back and rotated: exit %d, old robot %s exists %v\n%s", m2.Name, res.Code, first[m2.Name], robotExists(first[m2.Name]), res.Stderr)
	}
	mustNotPull(t, img, oldUser[m2.Name], oldPass[m2.Name], "the revoked old robot of "+m2.Name)
}

// cutWhenRewritten closes gate as soon as one of nss (in the cluster of c) holds a credential
// other than oldID; stop ends the watch and says which namespace it saw first ("" if none).
func cutWhenRewritten(t *testing.T, gate *tcpGate, c kubernetes.Interface, nss []string, oldID string) (stop func() string) {
	t.Helper()
	done := make(chan struct{})
	seen := make(chan string, 1)
	go func() {
		defer close(seen)
		for {
			for _, ns := range nss {
				s, err := c.CoreV1().Secrets(ns).Get(context.Background(), "harbor-pull", metav1.GetOptions{})
				if err != nil {
					continue
				}
				if id := s.Annotations[secretsync.AnnotationCredentialID]; id != "" && id != oldID {
					gate.cut()
					seen <- ns
					return
				}
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() string {
		close(done)
		return <-seen
	}
}

func startMember(t *testing.T, prefix string) *sandbox.Cluster {
	t.Helper()
	// A fleet's operator applies deploy/rbac/fleet-role.yaml: every cluster's Leases.
	if err := rig.GrantFleetRole(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := rig.StartCluster(context.Background(), fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func clusterOf(rep *rotation.Report) string {
	if rep.Cluster == "" {
		return "local"
	}
	return rep.Cluster
}

func issuedByCluster(t *testing.T, reps []*rotation.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rep := range reps {
		if rep.Issued == nil {
			t.Fatalf("cluster %s: nothing issued: %s %v", clusterOf(rep), rep.Result, rep.Errors)
		}
		out[clusterOf(rep)] = rep.Issued.Name
	}
	return out
}

// kubeconfigVia writes a copy of kubeconfig whose server is server (the gate in front of it).
func kubeconfigVia(t *testing.T, kubeconfig, server string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = server
	}
	path := t.TempDir() + "/via-gate.kubeconfig"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// tcpGate forwards a port to an API server until cut: then it refuses connections and closes
// the open ones, as a cluster behind a network partition; restore opens it again on the same
// address.
type tcpGate struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
	delay  atomic.Int64 // time.Duration each client chunk waits (slow)
}

func newTCPGate(t *testing.T, serverURL string) *tcpGate {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	g := &tcpGate{t: t, target: u.Host}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = l.Addr().String()
	g.serve(l)
	t.Cleanup(g.cut)
	return g
}

func (g *tcpGate) url() string { return "https://" + g.addr }

func (g *tcpGate) serve(l net.Listener) {
	g.mu.Lock()
	g.l = l
	g.mu.Unlock()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", g.target)
			if err != nil {
				in.Close()
				continue
			}
			g.mu.Lock()
			g.conns = append(g.conns, in, out)
			g.mu.Unlock()
			go func() { g.copySlowed(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

// slow delays each chunk the client sends by d from now on: requests take at least d each, so
// a watcher polling the cluster sees a run's first write well before its last.
func (g *tcpGate) slow(d time.Duration) { g.delay.Store(int64(d)) }

func (g *tcpGate) copySlowed(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(g.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (g *tcpGate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.l != nil {
		g.l.Close()
		g.l = nil
	}
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
}

// isCut says whether the gate is closed.
func (g *tcpGate) isCut() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.l == nil
}

func (g *tcpGate) restore() {
	g.t.Helper()
	l, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatalf("reopen the gate on %s: %v", g.addr, err)
	}
	g.serve(l)
}
