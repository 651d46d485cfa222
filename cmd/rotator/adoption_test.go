package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What a platform team's review asks for before adopting a tool (issue 19, point 1): an
// Apache-2.0 LICENSE, a security policy with a private reporting channel, a changelog, and an
// install section that shows Helm first and kustomize second.
func TestAdoptionFilesAreThere(t *testing.T) {
	root := filepath.Join("..", "..")
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return string(b)
	}
	if l := read("LICENSE"); !strings.Contains(l, "Apache License") || !strings.Contains(l, "Version 2.0, January 2004") {
		t.Error("LICENSE is not the Apache License 2.0")
	}
	if s := read("SECURITY.md"); !strings.Contains(s, "## Reporting a vulnerability") || !strings.Contains(s, "## Supported versions") {
		t.Error("SECURITY.md says neither how to report a vulnerability nor which versions are supported")
	}
	if c := read("CHANGELOG.md"); !strings.Contains(c, "## Unreleased") || !strings.Contains(c, "keepachangelog.com") {
		t.Error("CHANGELOG.md does not follow Keep a Changelog with an Unreleased section")
	}
	readme := read("README.md")
	deploying := readme[strings.Index(readme, "## Deploying"):]
	helm, kustomize := strings.Index(deploying, "helm install rotator ./charts/rotator"), strings.Index(deploying, "kubectl apply -k deploy/base")
	if helm < 0 || kustomize < 0 || helm > kustomize {
		t.Errorf("README's Deploying section must show helm install first (at %d), kubectl apply -k second (at %d)", helm, kustomize)
	}
}
