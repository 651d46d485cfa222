// Command vault is Vault's own `vault server` (dev mode included: -dev, -dev-tls,
// -dev-listen-address...), built with Vault's `minimal` build tag, plus the Kubernetes auth
// method, which the sandbox uses and the minimal set lacks. The minimal set keeps Vault's core,
// KV, AppRole and the other builtins of helper/builtinplugins/registry.go, and drops the cloud
// plugins, storage backends and seals of the full binary: about half of the code to compile.
// Only the server is here: the sandbox and its tests talk to Vault over its HTTP API.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/cli"
	credKube "github.com/hashicorp/vault-plugin-auth-kubernetes"
	logicalKv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/audit"
	"github.com/hashicorp/vault/builtin/plugin"
	"github.com/hashicorp/vault/command"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical"
	physInmem "github.com/hashicorp/vault/sdk/physical/inmem"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "server" {
		fmt.Fprintln(os.Stderr, "usage: vault server [-dev ...]: this build of Vault (rotator's sandbox) has only the server command")
		os.Exit(2)
	}
	ui := &cli.BasicUi{Reader: os.Stdin, Writer: os.Stdout, ErrorWriter: os.Stderr}
	// The backends of Vault's own `vault server` in a minimal build (command/commands.go,
	// newMinimalVaultHandlers), storage in memory only, plus Kubernetes auth. A mount of another
	// builtin (approle, userpass...) is served by the plugin catalog, as in Vault itself.
	server := &command.ServerCommand{
		BaseCommand:   &command.BaseCommand{UI: ui},
		AuditBackends: map[string]audit.Factory{"file": audit.NewFileBackend},
		CredentialBackends: map[string]logical.Factory{
			"plugin":     plugin.Factory,
			"kubernetes": credKube.Factory,
		},
		LogicalBackends: map[string]logical.Factory{
			"plugin": plugin.Factory,
			"kv":     logicalKv.Factory,
		},
		PhysicalBackends: map[string]physical.Factory{
			"inmem":               physInmem.NewInmem,
			"inmem_ha":            physInmem.NewInmemHA,
			"inmem_transactional": physInmem.NewTransactionalInmem,
		},
		ShutdownCh: command.MakeShutdownCh(),
		SighupCh:   command.MakeSighupCh(),
		SigUSR2Ch:  command.MakeSigUSR2Ch(),
	}
	os.Exit(server.Run(os.Args[2:]))
}
