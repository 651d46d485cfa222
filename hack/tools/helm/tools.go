//go:build tools

// Package tools pins helm, built by hack/build-tools.sh for the chart's tests (make test).
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
