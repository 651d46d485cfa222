// Command vaultshow prints what the rotator wrote back to a Vault KV v2 secret, for the demo:
// the version, the key names, the non-secret fields and the custom metadata. It never prints the
// password. Usage: VAULT_ADDR=... VAULT_TOKEN=... go run ./hack/vaultshow MOUNT PATH
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: vaultshow MOUNT PATH (with VAULT_ADDR and VAULT_TOKEN set)")
		os.Exit(2)
	}
	if err := show(context.Background(), os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "vaultshow:", err)
		os.Exit(1)
	}
}

func show(ctx context.Context, mount, path string) error {
	c, err := api.NewClient(&api.Config{Address: os.Getenv("VAULT_ADDR")})
	if err != nil {
		return err
	}
	kv := c.KVv2(mount)
	sec, err := kv.Get(ctx, path)
	if err != nil {
		return err
	}
	var keys []string
	for k := range sec.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("%s/data/%s version %d: keys %s\n", mount, path, sec.VersionMetadata.Version, strings.Join(keys, ", "))
	for _, k := range []string{"registry", "username", "credential_id", "expires_at"} {
		fmt.Printf("  %-14s %v\n", k, sec.Data[k])
	}
	fmt.Printf("  %-14s (%d characters, not shown)\n", "password", len(fmt.Sprint(sec.Data["password"])))
	meta, err := kv.GetMetadata(ctx, path)
	if err != nil {
		return err
	}
	fmt.Printf("  custom_metadata %v\n", meta.CustomMetadata)
	fmt.Printf("  versions kept  %d (current %d): the previous credentials stay in the history\n", len(meta.Versions), meta.CurrentVersion)
	return nil
}
