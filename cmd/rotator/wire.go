package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/bindguard"
	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/events"
	"github.com/rotatorhq/rotator/internal/kubeclient"
	"github.com/rotatorhq/rotator/internal/metrics"
	"github.com/rotatorhq/rotator/internal/notify"
	"github.com/rotatorhq/rotator/internal/restart"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/secretsource"
	"github.com/rotatorhq/rotator/internal/state"
	"github.com/rotatorhq/rotator/internal/transport"
	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/gitlab"
	"github.com/rotatorhq/rotator/providers/harbor"
)

// app is everything a command needs, built from the config by wire.
type app struct {
	kube kubernetes.Interface
	// watch and meta are the informers' clients (rotator run's namespace controller).
	watch   kubernetes.Interface
	meta    metadata.Interface
	runner  *rotation.Runner
	store   *state.Store
	metrics *metrics.Metrics
	// secrets reads what the config's secret references point at (rotator run's webhook URLs).
	secrets secretsource.Resolver
	// close stops what the app runs in the background (Vault token renewal).
	close func()
}

// wire builds the runner from the config: explicit constructors, no registries, no globals.
// m may be nil (one-shot commands keep no metrics).
func wire(ctx context.Context, cfg *config.Config, creds []*config.Credential, g *globalFlags, stderr io.Writer, m *metrics.Metrics) (*app, error) {
	rc, err := restConfig(g)
	if err != nil {
		return nil, err
	}
	clients, err := kubeclient.New(rc, "rotator", cfg.Kubernetes.QPS, cfg.Kubernetes.Burst)
	if err != nil {
		return nil, err
	}
	kube := clients.Main
	log := g.logger(stderr)
	// Secrets are read through src at each use, so a password changed in Vault is picked up by
	// the next request without a restart; ctx bounds its Vault token renewal.
	src, err := secretsource.New(ctx, cfg.Vault, secretsource.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	provs := map[string]providers.Provider{}
	checkers := map[string]rotation.RegistryChecker{}
	for _, c := range creds {
		p, tr, err := newProviderFrom(c, m, src)
		if err != nil {
			return nil, fmt.Errorf("credential %s: %w", c.Name, err)
		}
		provs[c.Name] = p
		checkers[c.Name] = verify.Checker{Transport: tr}
	}
	clk := clock.RealClock{}
	// One pacer for every credential the runner rotates (kubernetes.restartsPerMinute), so ten
	// credentials do not roll ten times as fast as one.
	pacer := restart.NewPacer(cfg.Kubernetes.RestartsPerMinute, clk)
	var kv rotation.KVWriter
	if v := src.Vault(); v != nil { // not a typed nil in the interface
		kv = v
	}
	return &app{
		secrets: src,
		close:   src.Close,
		kube:    kube,
		watch:   clients.Watch,
		meta:    clients.Metadata,
		metrics: m,
		store:   &state.Store{Client: kube, Namespace: cfg.StateNamespace},
		runner: &rotation.Runner{
			Config: cfg, Kube: kube, Providers: provs, Checkers: checkers,
			Clock: clk, Logger: log, Metrics: m, Vault: kv, Pacer: pacer,
			// One memory of the ServiceAccounts whose owner fights the binding, for the runs and
			// the reconciles of this process (docs/gitops.md).
			Bindings: &bindguard.Guard{Clock: clk},
			// Events never hold up the writes that fix pulls: sent in the background, by a client
			// that takes from the rate limit only what the writers leave (bench/README.md).
			Events: &events.Recorder{Client: clients.Events, Clock: clk, Logger: log, Instance: identity(), Background: true},
		},
	}, nil
}

// newNotifier builds the webhooks of cfg (nil when there is none). Each URL is read through
// src at each delivery, like a provider's password: it may be a secret (Slack's are).
func newNotifier(cfg *config.Config, src secretsource.Resolver, log *slog.Logger, nm *metrics.Notifications) *notify.Notifier {
	if len(cfg.Notifications.Webhooks) == 0 {
		return nil
	}
	var hooks []notify.Webhook
	for _, w := range cfg.Notifications.Webhooks {
		ref := w.URLFrom
		kinds := make([]notify.Kind, 0, len(w.Events))
		for _, ev := range w.Events {
			kinds = append(kinds, notify.Kind(ev))
		}
		hooks = append(hooks, notify.Webhook{
			Name: w.Name, Format: w.Format, Events: kinds, Timeout: w.Timeout.Duration,
			MaxAttempts: w.MaxAttempts, RepeatInterval: w.RepeatInterval.Duration,
			URL: func(ctx context.Context) (string, error) { return src.Read(ctx, ref) },
		})
	}
	return notify.New(hooks, notify.Options{Logger: log, Metrics: nm})
}

// identity names this process in the leader lease and in events: host/pid. (The run lock names
// each acquisition itself: runlock adds a random part, so two runs of one process exclude.)
func identity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// newProviderFrom builds the provider of one credential and the transport for its registry. Its
// secrets are read through src at each use.
func newProviderFrom(c *config.Credential, m *metrics.Metrics, src secretsource.Resolver) (providers.Provider, http.RoundTripper, error) {
	switch c.Provider {
	case "harbor":
		h := c.Harbor
		tr, err := transport.New(h.CAFile, h.InsecureSkipVerify)
		if err != nil {
			return nil, nil, err
		}
		password := func(ctx context.Context) (string, error) { return src.Read(ctx, h.PasswordFrom) }
		p, err := harbor.New(harbor.Options{URL: h.URL, Username: h.Username, PasswordFunc: password, Transport: m.Instrument("harbor", transport.LimitResponses(tr, transport.MaxAPIResponse))})
		return p, tr, err
	case "gitlab":
		g := c.GitLab
		// One transport for GitLab's API and its registry: caFile covers both.
		tr, err := transport.New(g.CAFile, g.InsecureSkipVerify)
		if err != nil {
			return nil, nil, err
		}
		token := func(ctx context.Context) (string, error) { return src.Read(ctx, g.TokenFrom) }
		p, err := gitlab.New(gitlab.Options{
			URL: g.URL, TokenFunc: token, Kind: gitlab.TokenKind(g.TokenKind), Group: g.Group != "",
			Username: g.Username, Transport: m.Instrument("gitlab", transport.LimitResponses(tr, transport.MaxAPIResponse)),
		})
		return p, tr, err
	}
	return nil, nil, fmt.Errorf("unknown provider %q", c.Provider)
}

func restConfig(g *globalFlags) (*rest.Config, error) {
	cfg, err := clientConfig(g).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w (set --kubeconfig or KUBECONFIG, and --context)", err)
	}
	return cfg, nil
}

// clientConfig loads the kubeconfig as kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else in-cluster; --context picks a context other than the current one.
func clientConfig(g *globalFlags) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if g.kubeconfig != "" {
		rules.ExplicitPath = g.kubeconfig
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: g.context})
}
