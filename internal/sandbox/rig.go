// Package sandbox runs the real local rig that rotator is tested and demonstrated on: etcd, a
// real kube-apiserver and kube-controller-manager, a real docker registry with token auth, a
// Harbor double that fronts it the way Harbor does, and a node simulator that plays kubelet by
// really pulling each pod's images with the pod's own pull secrets. Every server listens on a
// loopback port chosen at start. It is test and demo tooling, never part of the rotator binary.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rotatorhq/rotator/internal/sandbox/gitlabdouble"
	"github.com/rotatorhq/rotator/internal/sandbox/harbordouble"
	"github.com/rotatorhq/rotator/internal/sandbox/nodesim"
	"github.com/rotatorhq/rotator/internal/sandbox/registrytoken"
)

// Options configure a rig. The zero value is usable apart from Dir.
type Options struct {
	// Dir holds every file of the rig: data, logs, kubeconfigs. Created if missing.
	Dir string
	// Projects are the Harbor projects that exist, each seeded with one image. Default proj-a, proj-b.
	Projects []string
	Logger   *slog.Logger
}

// Rig is a running sandbox.
type Rig struct {
	Dir string
	// KubeURL is the API server; AdminKubeconfig is cluster-admin; RotatorKubeconfig is the user
	// "rotator" and DoctorKubeconfig the user "rotator-doctor", each with only the rights of its
	// shipped ClusterRole (see GrantShippedRoles).
	KubeURL, AdminKubeconfig, RotatorKubeconfig, DoctorKubeconfig string
	// AuditLog is the API server's audit log (JSON lines, metadata only).
	AuditLog string
	// Admin is a cluster-admin client.
	Admin       kubernetes.Interface
	AdminConfig *rest.Config

	// Harbor is the Harbor double; HarborURL its address. It also fronts the registry, so
	// RegistryHost (host:port) is both the Harbor host and the registry host of image names.
	Harbor                         *harbordouble.Server
	HarborURL, RegistryHost        string
	HarborUsername, HarborPassword string
	// Images maps each project to a pullable image reference in it.
	Images map[string]string
	// VaultAddr and VaultToken (root) reach the rig's Vault (dev mode); see vault.go for what it
	// holds. VaultRoleID and VaultSecretIDFile log in with the rotator's AppRole.
	VaultAddr, VaultToken          string
	VaultRoleID, VaultSecretIDFile string
	// GitLab is the GitLab double (see gitlab.go). GitLabURL is its API, and serves the token
	// realm /jwt/auth (as on real installations, on the GitLab host: localhost:<API port>);
	// GitLabRegistryHost (host:port, not the GitLab host) fronts a second registry;
	// GitLabToken is the owner's personal access token; GitLabImages maps each GitLab project
	// (group-a/app...) to a pullable image in it.
	GitLab                                     *gitlabdouble.Server
	GitLabURL, GitLabToken, GitLabRegistryHost string
	GitLabImages                               map[string]string

	cp     *controlPlane
	logger *slog.Logger
	// clusters are the extra clusters StartCluster started.
	mu       sync.Mutex
	clusters []*Cluster
	gitlab   *gitlabRig
	registry *registryServer
	vault    *VaultServer
	httpSrv  *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Start brings the whole rig up and returns when every part answers. On error nothing is left
// running.
//
//nolint:contextcheck // ctx bounds the start only: the rig's servers and simulator outlive it
func Start(ctx context.Context, o Options) (_ *Rig, err error) {
	if o.Dir == "" {
		return nil, errors.New("sandbox: Options.Dir is required")
	}
	if len(o.Projects) == 0 {
		o.Projects = []string{"proj-a", "proj-b"}
	}
	if err := mkdirAll(o.Dir); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Rig{Dir: o.Dir, HarborUsername: "admin", HarborPassword: "Harbor-" + randomHex(8), Images: map[string]string{}, logger: o.Logger}
	defer func() {
		if err != nil {
			r.Stop() //nolint:contextcheck // a failed start stops what it started, even past ctx
		}
	}()

	if r.cp, err = startControlPlane(ctx, o.Dir); err != nil {
		return nil, err
	}
	r.KubeURL, r.AdminKubeconfig, r.RotatorKubeconfig, r.DoctorKubeconfig, r.AuditLog = r.cp.URL, r.cp.AdminKubeconfig, r.cp.RotatorKubeconfig, r.cp.DoctorKubeconfig, r.cp.AuditLog
	if r.AdminConfig, err = clientcmd.BuildConfigFromFlags("", r.AdminKubeconfig); err != nil {
		return nil, err
	}
	r.AdminConfig.QPS, r.AdminConfig.Burst = 200, 400
	if r.Admin, err = kubernetes.NewForConfig(r.AdminConfig); err != nil {
		return nil, err
	}

	// The Harbor double's address must be known before the registry starts: the registry sends
	// clients to its token realm.
	harborListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.RegistryHost = harborListener.Addr().String()
	r.HarborURL = "http://" + r.RegistryHost
	issuer, err := registrytoken.NewIssuer("harbor-token-issuer", "harbor-registry")
	if err != nil {
		harborListener.Close()
		return nil, err
	}
	r.registry, err = startRegistry(ctx, o.Dir, registryAuth{
		realm: r.HarborURL + "/service/token", service: "harbor-registry", issuer: "harbor-token-issuer",
		rootCertPEM: issuer.CertPEM(),
	})
	if err != nil {
		harborListener.Close()
		return nil, err
	}
	if err := r.startHarbor(harborListener, issuer, o.Projects); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	sim := nodesim.New(nodesim.Options{Client: r.Admin, Logger: o.Logger.With("component", "nodesim"), Insecure: true})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := sim.Run(runCtx); err != nil && runCtx.Err() == nil {
			o.Logger.Error("node simulator stopped", "err", err)
		}
	}()

	if err := r.seedImages(ctx, o.Projects); err != nil {
		return nil, err
	}
	if err := r.startGitLab(ctx, o.Dir); err != nil {
		return nil, err
	}
	if err := r.GrantShippedRoles(ctx); err != nil {
		return nil, err
	}
	if err := r.startVault(ctx); err != nil {
		return nil, err
	}
	if err := r.grantRotatorNamespaceRole(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Rig) startHarbor(l net.Listener, issuer *registrytoken.Issuer, projects []string) error {
	regURL, err := parseURL(r.registry.URL)
	if err != nil {
		return err
	}
	r.Harbor, err = harbordouble.New(harbordouble.Options{
		AdminUsername: r.HarborUsername, AdminPassword: r.HarborPassword,
		Projects: projects, Registry: regURL, Issuer: issuer,
	})
	if err != nil {
		l.Close()
		return err
	}
	r.httpSrv = &http.Server{Handler: r.Harbor, ReadHeaderTimeout: 10 * time.Second}
	go r.httpSrv.Serve(l) //nolint:errcheck // returns ErrServerClosed on Stop
	return nil
}

// Stop stops every server of the rig, in reverse order of start. Safe to call more than once.
func (r *Rig) Stop() {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		for _, c := range r.clusters {
			c.Stop()
		}
		r.mu.Unlock()
		if r.cancel != nil {
			r.cancel()
			r.wg.Wait()
		}
		if r.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = r.httpSrv.Shutdown(ctx)
			cancel()
		}
		if r.vault != nil {
			r.vault.Stop()
		}
		r.gitlab.stop()
		if r.registry != nil {
			r.registry.proc.stop()
		}
		if r.cp != nil {
			r.cp.stop()
		}
	})
}

// Pids are the child processes of the rig, so a separate `sandbox down` can stop them even when
// the process that started them died.
func (r *Rig) Pids() []int {
	var out []int
	if r.cp != nil {
		out = append(out, r.cp.pids()...)
	}
	if r.registry != nil {
		out = append(out, r.registry.proc.pid())
	}
	if r.vault != nil {
		out = append(out, r.vault.Pid())
	}
	out = append(out, r.gitlab.pids()...)
	r.mu.Lock()
	for _, c := range r.clusters {
		out = append(out, c.Pids()...)
	}
	r.mu.Unlock()
	return out
}

// Healthy reports the first server of the rig that has died.
func (r *Rig) Healthy() error {
	for _, p := range []*process{r.cp.etcd, r.cp.apiserver, r.cp.controllers, r.registry.proc, r.vault.proc} {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return r.gitlab.exited()
}

// RotatorConfig is a rest.Config for the "rotator" user.
func (r *Rig) RotatorConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", r.RotatorKubeconfig)
}

func mkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// CAFile is the API server's serving certificate, for kubeconfigs of other identities.
func (r *Rig) CAFile() string { return r.cp.CAFile }
