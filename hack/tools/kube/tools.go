//go:build tools

// Package tools pins the control-plane commands built by hack/build-tools.sh, and kubectl,
// which it builds only when none is on PATH.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
