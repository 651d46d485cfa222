//go:build tools

// Package tools pins the registry command built by hack/build-tools.sh.
package tools

import (
	_ "github.com/distribution/distribution/v3/cmd/registry"
)
