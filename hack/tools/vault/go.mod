// Module for building the sandbox's Vault server from the Go module proxy. It is separate from the
// product's go.mod so that github.com/hashicorp/vault never becomes a dependency of rotator itself.
// Vault v1.21.0's in-tree sdk and api are not published at that exact state: sdk v0.20.0 and
// api v1.22.0 are the published versions that build with it; the keyring and signedxml replaces
// are copied from Vault's own go.mod.
module rotator.dev/hack/tools/vault

go 1.26.0

require github.com/hashicorp/vault v1.21.0

replace github.com/hashicorp/vault/sdk => github.com/hashicorp/vault/sdk v0.20.0

replace github.com/hashicorp/vault/api => github.com/hashicorp/vault/api v1.22.0

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1
