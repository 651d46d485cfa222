package config

import (
	"strings"
	"testing"
	"time"
)

// The shipped example's GitLab credential loads with its defaults and registry host.
func TestExampleConfigGitLab(t *testing.T) {
	c, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var g *Credential
	for i := range c.Credentials {
		if c.Credentials[i].Provider == "gitlab" {
			g = &c.Credentials[i]
		}
	}
	if g == nil || g.GitLab == nil {
		t.Fatal("config.example.yaml has no gitlab credential")
	}
	if g.GitLab.Holder() != "platform" || g.GitLab.TokenKind != GitLabDeployToken || g.Lifetime.Duration != 90*24*time.Hour {
		t.Fatalf("decoded %+v %+v", g, g.GitLab)
	}
	if host, _, err := g.Registry(); err != nil || host != "registry.gitlab.example.com" {
		t.Fatalf("registry %q %v", host, err)
	}
}

func TestGitLabDefaults(t *testing.T) {
	c, err := Parse([]byte(`
credentials:
- name: gl
  provider: gitlab
  gitlab: {url: "https://gitlab.example.com", tokenFrom: {env: T}, project: "group/app"}
  registryHost: registry.example.com
  targets: {secretName: pull, namespaces: [a]}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	g := c.Credentials[0].GitLab
	if g.TokenKind != "deployToken" || g.TokenNamePrefix != "rotator-gl-" || g.Holder() != "group/app" {
		t.Fatalf("defaults: %+v", g)
	}
}

// Every GitLab problem is reported at once, each with its path.
func TestValidateGitLab(t *testing.T) {
	_, err := Parse([]byte(`
credentials:
- name: a
  provider: gitlab
  gitlab: {url: "gitlab.example.com", tokenFrom: {}, project: "/g/p/", group: "g", tokenKind: projectAccessToken,
           username: "bad user", tokenNamePrefix: "-x", caFile: ca.pem, insecureSkipVerify: true}
  lifetime: 400d
  targets: {secretName: pull, namespaces: [a]}
- name: b
  provider: gitlab
  gitlab: {url: "https://gitlab.example.com", tokenFrom: {env: T}, tokenKind: groupAccessToken}
  lifetime: "0"
  targets: {secretName: pull, namespaces: [a]}
- name: c
  provider: gitlab
  registryHost: registry.example.com
  targets: {secretName: pull, namespaces: [a]}
- name: d
  provider: gitlab
  gitlab: {url: "https://gitlab.example.com", tokenFrom: {env: T}, group: g, tokenKind: rotating}
  registryHost: registry.example.com
  targets: {secretName: pull, namespaces: [a]}
`), "bad.yaml")
	wantProblems(t, err, []string{
		"credentials[0].gitlab.url: Invalid value",
		"credentials[0].gitlab.tokenFrom: Required value",
		"credentials[0].gitlab.project: Invalid value: \"/g/p/\": set either project or group",
		"credentials[0].gitlab.project: Invalid value: \"/g/p/\": a full path",
		"credentials[0].gitlab.username: Invalid value",
		"credentials[0].gitlab.tokenNamePrefix: Invalid value",
		"credentials[0].gitlab.insecureSkipVerify: Invalid value",
		"credentials[0].registryHost: Required value",
		"credentials[0].lifetime: Invalid value: \"400d\"",
		"credentials[1].gitlab.group: Required value: set group or project",
		"credentials[1].gitlab.group: Required value: tokenKind groupAccessToken needs a group",
		"credentials[1].registryHost: Required value",
		"credentials[1].lifetime: Invalid value: \"0\"",
		"credentials[2].gitlab: Required value",
		"credentials[3].gitlab.tokenKind: Unsupported value: \"rotating\"",
	})
}

// A gitlab credential without registryHost has no registry host to write: the error says why.
func TestGitLabRegistryHostRequired(t *testing.T) {
	cr := Credential{Provider: "gitlab", GitLab: &GitLab{URL: "https://gitlab.example.com"}}
	if _, _, err := cr.Registry(); err == nil || !strings.Contains(err.Error(), "often not the GitLab host") {
		t.Fatalf("got %v", err)
	}
	cr.RegistryHost = "https://registry.gitlab.example.com:5050/v2/"
	if host, normalised, err := cr.Registry(); err != nil || host != "registry.gitlab.example.com:5050" || !normalised {
		t.Fatalf("got %q %v %v", host, normalised, err)
	}
}
