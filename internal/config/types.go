// Package config is rotator's typed configuration: strict decoding (an unknown field is an
// error), defaults in one place (Default), and Validate, which reports every problem at once,
// each with its path (credentials[1].targets.namespaces: Required value).
package config

// Config is the whole file.
type Config struct {
	// StateNamespace holds one state Secret per credential (what is issued, what awaits
	// revocation), so any replica or a later run can resume. Default "rotator-system".
	StateNamespace string `json:"stateNamespace,omitempty"`
	// Kubernetes tunes the client used for the cluster.
	Kubernetes Kubernetes `json:"kubernetes,omitempty"`
	// Vault is needed when a secret is read from Vault or a credential is written back to it.
	Vault *Vault `json:"vault,omitempty"`
	// Windows are when scheduled rotations and restarts may happen, for every credential that
	// has no windows of its own (windows.go). None: at any time.
	Windows []Window `json:"windows,omitempty"`
	// Notifications are webhooks told about failures, rollbacks, held revocations and
	// approaching expiry (notifications.go). None: no notification.
	Notifications Notifications `json:"notifications,omitempty"`
	// Clusters are the members of a fleet: clusters other than the rotator's own whose
	// namespaces a credential may target (Targets.Clusters). None: the rotator's cluster only.
	Clusters []Cluster `json:"clusters,omitempty"`
	// Credentials are rotated independently; each is one robot identity on one registry per
	// cluster it targets.
	Credentials []Credential `json:"credentials"`
}

// LocalCluster names the rotator's own cluster in Targets.Clusters.
const LocalCluster = "local"

// Cluster is a member of the fleet and where the rotator's access to it comes from: exactly one
// of KubeconfigFrom and KubeconfigSecret.
type Cluster struct {
	// Name (a DNS label, not "local") in Targets.Clusters, reports, state and metrics.
	Name string `json:"name"`
	// KubeconfigFrom reads the kubeconfig's content from a file, an environment variable or
	// Vault, at every run (a rotated kubeconfig is picked up without a restart).
	KubeconfigFrom *SecretRef `json:"kubeconfigFrom,omitempty"`
	// KubeconfigSecret is a Secret in the rotator's namespace (StateNamespace) holding the
	// kubeconfig: the shape Cluster API writes (<cluster>-kubeconfig, key "value").
	KubeconfigSecret *KubeconfigSecret `json:"kubeconfigSecret,omitempty"`
	// Context of the kubeconfig to use. Default: its current context.
	Context string `json:"context,omitempty"`
}

// KubeconfigSecret is a key of a Secret in the rotator's namespace.
type KubeconfigSecret struct {
	Name string `json:"name"`
	// Key of the kubeconfig in the Secret's data. Default "value" (Cluster API).
	Key string `json:"key,omitempty"`
}

// Kubernetes client settings for a run.
type Kubernetes struct {
	// QPS and Burst of the client's rate limiter, shared by the client that writes and the one
	// that records Events (which yields). A rotation over 300 namespaces is 1,200 writes: at the
	// defaults 200 and 400 about 6 s; at 50, 24 s; at client-go's 5, four minutes
	// (bench/RESULTS.md). The in-flight bound is Concurrency, and the API server's priority and
	// fairness limits what one client gets.
	QPS   float32 `json:"qps,omitempty"`
	Burst int     `json:"burst,omitempty"`
	// Concurrency is how many namespaces are written at once. Default 10.
	Concurrency int `json:"concurrency,omitempty"`
	// RestartsPerMinute caps the workload restarts (pod-template patches) this process starts
	// per minute, across all its credentials. Default 60 (restart.DefaultRestartsPerMinute says
	// why); defaults and validation in pacing.go.
	RestartsPerMinute int `json:"restartsPerMinute,omitempty"`
	// MaxUnstickPerRun caps the pods stuck pulling an image of the registry that one credential's
	// run deletes so that their controller recreates them. Default 50.
	MaxUnstickPerRun int `json:"maxUnstickPerRun,omitempty"`
}

// Credential is one registry credential and where it goes.
type Credential struct {
	// Name identifies the credential in state, labels and commands (--credential). A DNS label.
	Name string `json:"name"`
	// Provider is "harbor" or "gitlab"; the section of the same name configures it.
	Provider string  `json:"provider"`
	Harbor   *Harbor `json:"harbor,omitempty"`
	GitLab   *GitLab `json:"gitlab,omitempty"`
	// RegistryHost is the key written in the secret's auths: host or host:port, no scheme or path.
	// Default for harbor: the host of its URL. Required for gitlab, whose registry host is often
	// not the GitLab host (registry.gitlab.example.com).
	RegistryHost string `json:"registryHost,omitempty"`
	// Lifetime of each issued credential ("720h", "30d"); "0" never expires. Default 30d.
	Lifetime Duration `json:"lifetime,omitempty"`
	// RenewBefore: a credential whose remaining lifetime is below this is due ("168h", "7d", or a
	// percentage of its lifetime such as "30%"). Default "30%".
	RenewBefore string `json:"renewBefore,omitempty"`
	// Schedule for `rotator run`: a 5-field cron spec or descriptor such as "@weekly". It must
	// fire at least once within the renewal window (renewBefore), and at most hourly unless
	// AllowFrequentRotation is set.
	Schedule string `json:"schedule,omitempty"`
	// AllowFrequentRotation lets a schedule, or a lifetime minus renewBefore, rotate more often
	// than once an hour. Every rotation issues a credential and restarts every dependent
	// workload, so a config that asks for that by mistake is refused unless this says it is meant
	// (tests, demos). Default false.
	AllowFrequentRotation bool `json:"allowFrequentRotation,omitempty"`
	// RevokeAfter is the grace period between the new credential being everywhere and the old
	// one being deleted: pods elsewhere may still pull with it. Default 1h.
	RevokeAfter Duration `json:"revokeAfter,omitempty"`
	// VerifyImages are pulled with every new credential before anything depends on it. When empty
	// the dependent workloads' images are used.
	VerifyImages []string `json:"verifyImages,omitempty"`
	Targets      Targets  `json:"targets"`
	Restart      Restart  `json:"restart,omitempty"`
	// WriteBack, when set, writes each issued credential to this Vault KV v2 secret.
	WriteBack *WriteBack `json:"writeBack,omitempty"`
	// Windows of this credential, replacing the top-level ones (windows.go).
	Windows []Window `json:"windows,omitempty"`
	// Suspend stops all scheduled work of `rotator run` for this credential (rotation, renewal,
	// repair, revocation); `rotate now` still works on it.
	Suspend bool `json:"suspend,omitempty"`
}

// Harbor provider settings.
type Harbor struct {
	// URL of Harbor, e.g. https://harbor.example.com.
	URL string `json:"url"`
	// Username of the admin (or robot-creating robot); PasswordFrom where its password is read.
	Username     string    `json:"username"`
	PasswordFrom SecretRef `json:"passwordFrom"`
	// Projects the issued robot may pull from. One project: a project-level robot; several: a
	// system-level robot with one pull permission per project.
	Projects []string `json:"projects"`
	// RobotNamePrefix starts every robot name the rotator creates; it only ever deletes robots
	// with it. Default "rotator-<credential name>-".
	RobotNamePrefix string `json:"robotNamePrefix,omitempty"`
	// TLS: CAFile is a PEM bundle trusted in addition to the system's; InsecureSkipVerify turns
	// verification off and must be said explicitly.
	CAFile             string `json:"caFile,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// SecretRef says where a secret value is read from; exactly one field is set.
type SecretRef struct {
	// Env is the name of an environment variable.
	Env string `json:"env,omitempty"`
	// File is a path whose content (trailing newline trimmed) is the value, e.g. a mounted Secret.
	File string `json:"file,omitempty"`
	// Vault is a key of a KV v2 secret, read at every run; needs the top-level vault section.
	Vault *VaultRef `json:"vault,omitempty"`
}

// Targets are the namespaces that receive the pull secret.
type Targets struct {
	// SecretName of the dockerconfigjson Secret in each namespace.
	SecretName string `json:"secretName"`
	// Namespaces listed explicitly, and/or chosen by NamespaceSelector (a label selector).
	Namespaces        []string `json:"namespaces,omitempty"`
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	// ExcludeNamespaces are never written, whatever the selector says.
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	// ServiceAccounts in each namespace that get the secret in imagePullSecrets.
	ServiceAccounts []string `json:"serviceAccounts,omitempty"`
	// Adopt lets the rotator take over a same-named Secret it did not create.
	Adopt bool `json:"adopt,omitempty"`
	// Clusters whose namespaces are targets: LocalCluster (the rotator's own) and names of
	// Config.Clusters. Each gets a credential of its own (revoked alone, a leak contained) and
	// a state of its own in the rotator's namespace. Default: [local].
	Clusters []string `json:"clusters,omitempty"`
	// Prune: when a namespace stops being a target (relabelled, excluded, removed from the
	// list), `rotator run` deletes the managed Secret there and removes it from the
	// ServiceAccounts' imagePullSecrets. Default false: a selector typo or a label removed by
	// mistake must not strip the pull secrets of many namespaces at once; the Secret left there
	// holds no credential back (a namespace that is no target is never asked before revoking).
	Prune bool `json:"prune,omitempty"`
}

// Restart of dependent workloads after a new credential is written. Kubelet reads a pod's pull
// secrets by name at every pull, so a pod that already names the secret needs no restart to use
// new content; see RestartPolicy for when one is needed.
type Restart struct {
	// Policy: IfNeeded (default), Canary, Always or Never (RestartPolicy). A workload's
	// annotation rotator.dev/restart: never|always overrides it for that workload.
	Policy RestartPolicy `json:"policy,omitempty"`
	// Canary is how many dependent workloads policy Canary restarts besides the needed ones,
	// smallest first; their rollouts must complete before the old credential is revoked.
	// Default 1.
	Canary int `json:"canary,omitempty"`
	// Disabled is the old spelling of policy: Never (deprecated: config validate warns).
	Disabled bool `json:"disabled,omitempty"`
	// Concurrency: at most this many workloads restarted at once. Default 5.
	Concurrency int `json:"concurrency,omitempty"`
	// Timeout for each rollout. Default 5m.
	Timeout Duration `json:"timeout,omitempty"`
}
