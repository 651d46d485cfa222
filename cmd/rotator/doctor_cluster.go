package main

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/doctor"
	"github.com/rotatorhq/rotator/internal/kubeclient"
	"github.com/rotatorhq/rotator/internal/secretsource"
)

// inMember points d at fleet member name of cfg: the pods, Secrets and ServiceAccounts are the
// member's, reached as `rotate now` reaches it (memberRestConfig); the rotator's state stays
// in its own cluster (home). A member that cannot be reached is an error naming it, its API
// server and the fix. host is the member's API server.
func inMember(ctx context.Context, d *doctor.Doctor, cfg *config.Config, home kubernetes.Interface, name string) (host string, err error) {
	c := cfg.Cluster(name)
	src, err := secretsource.New(ctx, cfg.Vault, secretsource.Options{})
	if err != nil {
		return "", fmt.Errorf("cluster %s: %w", name, err)
	}
	rc, err := memberRestConfig(ctx, &app{kube: home, secrets: src}, cfg, c)
	src.Close() // the kubeconfig is read: nothing more from Vault
	if err != nil {
		return "", err
	}
	// As doctorClient: a diagnosis reads a handful of objects per pod. Each request bounded,
	// as the rotator's own: a member that does not answer is a member down.
	rc.QPS, rc.Burst, rc.UserAgent, rc.Timeout = 50, 100, "rotator-doctor", kubeclient.MainTimeout
	member, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", fmt.Errorf("cluster %s: %w", name, err)
	}
	if err := reachMember(member, name, rc.Host); err != nil {
		return "", err
	}
	d.Kube, d.StateKube, d.Cluster = member, home, name
	return rc.Host, nil
}

// doctorCluster checks --cluster: a member needs the config that defines it; "local" is the
// doctor without --cluster.
func doctorCluster(cfg *config.Config, name string) (member string, err error) {
	switch {
	case name == "" || name == config.LocalCluster:
		return "", nil
	case cfg == nil:
		return "", errors.New("--cluster needs --config: the fleet's clusters and how to reach them are in the config")
	case cfg.Cluster(name) == nil:
		return "", fmt.Errorf("unknown cluster %q: the config's clusters are local%s", name, clusterNames(cfg))
	}
	return name, nil
}
