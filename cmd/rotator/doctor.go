package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/doctor"
	"github.com/rotatorhq/rotator/internal/secretsource"
	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/providers/gitlab"
)

type doctorFlags struct {
	namespace string
	all       bool
	probe     bool
	output    string
	config    string
	cluster   string
}

func newDoctorCommand(g *globalFlags) *cobra.Command {
	f := &doctorFlags{}
	cmd := &cobra.Command{
		Use:   "doctor [POD | deployment/NAME | statefulset/NAME | daemonset/NAME | --all]",
		Short: "Diagnose ErrImagePull / ImagePullBackOff and print the fix",
		Example: `  rotator doctor -n payments web-5f9c7d-x2x4z        # one pod
  rotator doctor -n payments deployment/web           # the pods of a workload
  rotator doctor -n payments --all -o json            # every failing pod of the namespace
  rotator doctor -n payments --all --config config.yaml --probe   # also ask the registry and the providers
  rotator doctor -n payments deployment/web --config fleet.yaml --cluster east   # in a member of the fleet`,
		Long: `Diagnose image pulls that fail with ErrImagePull or ImagePullBackOff. For each container the
doctor classifies kubelet's failure (auth, permission, missing image, TLS, network), and for auth and
permission failures walks the chain kubelet follows: the pod's imagePullSecrets or its
ServiceAccount's, each Secret's existence, type, data key and JSON, the auths key matching the image's
registry by kubelet's rules, the auth field, and with --probe the registry's answer. It names the
first broken link and prints the fix as commands to paste, with '<username>' and '<password>'
where a value belongs: it never prints a secret's value. It writes nothing.

Without a target it looks at every pod of the namespace. --probe pulls each image's manifest with
the pod's secrets and, with --config, asks the provider about credentials the rotator manages.

It reads a Secret only where you may (it asks the API server first). The shipped ClusterRole
rotator-doctor reads none: the doctor then diagnoses from pods, kubelet's Events and
ServiceAccounts, and prints each check it could not make ("not checked", and notChecked in JSON)
with the RoleBinding of ClusterRole rotator-doctor-secrets that gives full checks in a namespace.

In a fleet (clusters: in the config), --cluster NAME diagnoses in that member, reached with the
kubeconfig the config gives it (as rotate now reaches it); the rotator's state, which the doctor
compares a managed Secret with, is read from the rotator's own cluster (the kubeconfig's), and
the report names the member. Without --cluster (or with --cluster local) the doctor looks at the
kubeconfig's cluster only: it does not go through every member.

Exit status: 0 every pull works; 1 problems found (each named), or the doctor could not check
(a member it cannot reach is named, with its API server); 2 invalid flags or target.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runDoctor(cmd, g, f, args) },
	}
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "", "namespace (default: the kubeconfig context's)")
	cmd.Flags().BoolVar(&f.all, "all", false, "every pod of the namespace (the default without a target)")
	cmd.Flags().BoolVar(&f.probe, "probe", false, "also pull each image's manifest with the pod's secrets (contacts the registry)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text, json or yaml")
	cmd.Flags().StringVar(&f.config, "config", "", "rotator config: with --probe, ask the providers about the credentials the rotator manages; with --cluster, the fleet")
	cmd.Flags().StringVar(&f.cluster, "cluster", "", "diagnose in this member of the fleet (needs --config; -n then defaults to \"default\"); default: the kubeconfig's cluster only")
	return cmd
}

func runDoctor(cmd *cobra.Command, g *globalFlags, f *doctorFlags, args []string) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}
	d := &doctor.Doctor{Probe: f.probe, Clock: clock.RealClock{}, Checker: verify.Checker{UserAgent: "rotator-doctor"}}
	def := &config.Config{}
	config.Default(def)
	d.StateNamespace = def.StateNamespace
	var cfg *config.Config
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		d.StateNamespace = cfg.StateNamespace
	}
	member, err := doctorCluster(cfg, f.cluster)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if cfg != nil && f.probe {
		d.Credentials = managedCredentials(cmd.Context(), cfg, cmd.ErrOrStderr())
	}
	kube, ns, err := doctorClient(g)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	d.Kube = kube
	host := ""
	if member != "" {
		if host, err = inMember(cmd.Context(), d, cfg, kube, member); err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		ns = "default" // the local kubeconfig's namespace says nothing of the member's
	}
	if f.namespace != "" {
		ns = f.namespace
	}
	target, err := doctor.ParseTarget(ns, arg, f.all)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	rep, err := d.Diagnose(cmd.Context(), target)
	if err != nil && member != "" { // whatever went wrong, it went wrong there
		err = fmt.Errorf("cluster %s (API server %s): %w", member, host, err)
	}
	if errors.Is(err, doctor.ErrTarget) {
		return &exitError{code: exitUsage, err: err}
	}
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	out := cmd.OutOrStdout()
	if structured(f.output) {
		if err := printStructured(out, f.output, rep); err != nil {
			return err
		}
	} else {
		printDiagnosis(out, rep)
	}
	if !rep.Healthy {
		return &exitError{code: exitFailed, err: fmt.Errorf("%d problem(s) found; see above", rep.Problems())}
	}
	return nil
}

// The doctor asks GitLab whether the admin token still works when a managed token is refused.
var _ doctor.AdminChecker = (*gitlab.Provider)(nil)

// managedCredentials builds the provider of each configured credential, for look-ups only. A
// provider that cannot be built (its password unreadable here, say) costs only its look-ups: the
// diagnosis itself needs no provider.
func managedCredentials(ctx context.Context, cfg *config.Config, stderr io.Writer) map[string]doctor.ManagedCredential {
	out := map[string]doctor.ManagedCredential{}
	src, err := secretsource.New(ctx, cfg.Vault, secretsource.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "note: no provider look-ups: %v\n", err)
		return out
	}
	for i := range cfg.Credentials {
		c := &cfg.Credentials[i]
		p, _, err := newProviderFrom(c, nil, src) // no metrics: a one-off look-up
		if err != nil {
			fmt.Fprintf(stderr, "note: credential %s: no provider look-ups: %v\n", c.Name, err)
			continue
		}
		out[c.Name] = doctor.ManagedCredential{Provider: p, Spec: c.ProviderSpec()}
	}
	return out
}

// doctorClient returns a client and the kubeconfig context's namespace, as kubectl picks it.
func doctorClient(g *globalFlags) (kubernetes.Interface, string, error) {
	cc := clientConfig(g)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes client config: %w (set --kubeconfig or KUBECONFIG, and --context)", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes client config: %w", err)
	}
	// One diagnosis reads a handful of objects per pod; client-go's default of 5 QPS would make
	// --all on a large namespace crawl.
	rc.QPS, rc.Burst, rc.UserAgent = 50, 100, "rotator-doctor"
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, "", err
	}
	return kube, ns, nil
}
