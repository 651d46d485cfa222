package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command a person runs shows an example in its help, as kubectl's and cmctl's do.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden || c.Name() == "help" || c.HasParent() && c.Parent().Name() == "completion" || c == c.Root() {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("rotator %s has no Example", c.CommandPath())
		}
	}
	walk(newRootCommand())
}

// --context picks a context of the kubeconfig; one that does not exist is named in the error.
func TestContextFlag(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	const doc = `apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users:
- {name: u, user: {token: not-a-secret}}
contexts:
- {name: ctx-a, context: {cluster: a, user: u}}
- {name: ctx-b, context: {cluster: b, user: u}}
current-context: ctx-a
`
	if err := os.WriteFile(kc, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ context, host string }{{"", "https://a.example:6443"}, {"ctx-b", "https://b.example:6443"}} {
		rc, err := restConfig(&globalFlags{kubeconfig: kc, context: tc.context})
		if err != nil || rc.Host != tc.host {
			t.Errorf("--context %q: host %v, %v; want %s", tc.context, rc, err, tc.host)
		}
	}
	_, err := restConfig(&globalFlags{kubeconfig: kc, context: "nope"})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("an unknown context must be named in the error, got %v", err)
	}
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "--context") {
		t.Errorf("--context is not in the help: %v", err)
	}
}
