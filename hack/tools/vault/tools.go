//go:build tools

// Package tools pins the Vault server built by hack/build-tools.sh.
package tools

import (
	_ "github.com/hashicorp/vault"
)
