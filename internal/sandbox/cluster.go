package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rotatorhq/rotator/internal/sandbox/nodesim"
)

// Cluster is an extra cluster of the rig, a member of a fleet: its own etcd, kube-apiserver,
// kube-controller-manager and node simulator, on loopback. Its pods pull from the rig's one
// registry (the Harbor double's), and its users are the rig's: "admin", and "rotator" and
// "rotator-doctor" bound to the shipped ClusterRoles only. The rotator's own namespace (its
// state, its leases) is in the rig's first cluster, so a member gets no Role there.
type Cluster struct {
	Name string
	// KubeURL is its API server; the kubeconfigs are those of the rig's first cluster.
	KubeURL, AdminKubeconfig, RotatorKubeconfig, DoctorKubeconfig string
	// AuditLog is its API server's audit log.
	AuditLog    string
	Admin       kubernetes.Interface
	AdminConfig *rest.Config
	// StartTime is how long StartCluster took: a ready API server, the roles granted and the
	// node simulator's node registered.
	StartTime time.Duration

	cp       *controlPlane
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

var clusterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$`)

// StartCluster starts an extra cluster named name (a DNS label), in Dir/clusters/name, and
// returns when it serves. Rig.Stop stops it too; Cluster.Stop stops it alone (a cluster that
// went away). On error nothing of it is left running.
//
//nolint:contextcheck // ctx bounds the start only: the cluster's node simulator outlives it
func (r *Rig) StartCluster(ctx context.Context, name string) (_ *Cluster, err error) {
	if !clusterName.MatchString(name) {
		return nil, fmt.Errorf("sandbox: cluster name %q is not a DNS label of at most 32 characters", name)
	}
	begin := time.Now()
	dir := filepath.Join(r.Dir, "clusters", name)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("sandbox: cluster %s exists (%s)", name, dir)
	}
	if err := mkdirAll(dir); err != nil {
		return nil, err
	}
	c := &Cluster{Name: name}
	defer func() {
		if err != nil {
			c.Stop() //nolint:contextcheck // a failed start stops what it started, even past ctx
		}
	}()
	if c.cp, err = startControlPlane(ctx, dir); err != nil {
		return nil, err
	}
	c.KubeURL, c.AdminKubeconfig, c.RotatorKubeconfig, c.DoctorKubeconfig, c.AuditLog = c.cp.URL, c.cp.AdminKubeconfig, c.cp.RotatorKubeconfig, c.cp.DoctorKubeconfig, c.cp.AuditLog
	if c.AdminConfig, err = clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig); err != nil {
		return nil, err
	}
	c.AdminConfig.QPS, c.AdminConfig.Burst = 200, 400
	if c.Admin, err = kubernetes.NewForConfig(c.AdminConfig); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	sim := nodesim.New(nodesim.Options{Client: c.Admin, Logger: r.logger.With("component", "nodesim", "cluster", name), Insecure: true})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := sim.Run(runCtx); err != nil && runCtx.Err() == nil {
			r.logger.Error("node simulator stopped", "cluster", name, "err", err)
		}
	}()
	if err := grantShippedRoles(ctx, c.Admin); err != nil {
		return nil, err
	}
	c.StartTime = time.Since(begin)
	r.mu.Lock()
	r.clusters = append(r.clusters, c)
	r.mu.Unlock()
	return c, nil
}

// Stop stops the cluster's servers. Safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
			c.wg.Wait()
		}
		if c.cp != nil {
			c.cp.stop()
		}
	})
}

// Pids are the cluster's processes (etcd, kube-apiserver, kube-controller-manager).
func (c *Cluster) Pids() []int {
	if c.cp == nil {
		return nil
	}
	return c.cp.pids()
}

// Healthy reports the first server of the cluster that has died.
func (c *Cluster) Healthy() error {
	for _, p := range []*process{c.cp.etcd, c.cp.apiserver, c.cp.controllers} {
		if err := p.exited(); err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
	}
	return nil
}

// RSS is the resident memory of the cluster's processes now, in bytes (their VmRSS summed):
// what one more member of a fleet costs the machine.
func (c *Cluster) RSS() (int64, error) {
	var total int64
	for _, pid := range c.Pids() {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			return 0, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return 0, fmt.Errorf("cluster %s: VmRSS of %d: %w", c.Name, pid, err)
				}
				total += kib << 10
			}
		}
	}
	return total, nil
}
