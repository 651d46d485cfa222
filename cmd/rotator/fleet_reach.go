package main

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
)

// reachMember asks member name's API server (at host) for its version: one cheap request that
// tells an unreachable or refusing member before any real work is tried there, so that status
// and the doctor say so once, naming the member, instead of failing each read on their own.
func reachMember(kube kubernetes.Interface, name, host string) error {
	if _, err := kube.Discovery().ServerVersion(); err != nil {
		return memberUnreachable(name, host, err)
	}
	return nil
}

// memberUnreachable is the error of a member the rotator cannot talk to: which member, where it
// was looked for, and what to check.
func memberUnreachable(name, host string, err error) error {
	return fmt.Errorf("cluster %s: cannot reach its API server at %s: %w (check that it is up and reachable from here, and that its kubeconfig in the config's clusters (kubeconfigFrom or kubeconfigSecret) names the right server and a valid identity)", name, host, err)
}
