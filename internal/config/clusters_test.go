package config

import (
	"slices"
	"testing"
)

const fleetCredential = `
- name: h
  provider: harbor
  harbor: {url: "https://harbor.example.com/", username: admin, passwordFrom: {env: P}, projects: [p]}
`

func TestClustersDefaultAndResolve(t *testing.T) {
	c, err := Parse([]byte(`
clusters:
- name: east
  kubeconfigFrom: {file: /etc/rotator/east.kubeconfig}
  context: admin@east
- name: west
  kubeconfigSecret: {name: west-kubeconfig}
credentials:`+fleetCredential+`  targets: {secretName: pull, namespaces: [a], clusters: [local, east, west]}
- name: g
  provider: harbor
  harbor: {url: "https://harbor.example.com/", username: admin, passwordFrom: {env: P}, projects: [p]}
  targets: {secretName: pull, namespaces: [a]}
`), "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Credentials[0].TargetClusters(); !slices.Equal(got, []string{"local", "east", "west"}) {
		t.Errorf("clusters of h: %v", got)
	}
	if got := c.Credentials[1].TargetClusters(); !slices.Equal(got, []string{LocalCluster}) {
		t.Errorf("a credential without targets.clusters targets the rotator's own cluster, got %v", got)
	}
	if w := c.Cluster("west"); w == nil || w.KubeconfigSecret.Key != "value" {
		t.Errorf("kubeconfigSecret.key defaults to Cluster API's \"value\": %+v", w)
	}
	if c.Cluster(LocalCluster) != nil || c.Cluster("north") != nil {
		t.Error("Cluster must return nil for local and unknown names")
	}
}

func TestClustersInvalid(t *testing.T) {
	_, err := Parse([]byte(`
clusters:
- name: local
  kubeconfigFrom: {env: K}
- name: east
- name: east
  kubeconfigFrom: {env: K}
  kubeconfigSecret: {name: x}
- name: Bad_Name
  kubeconfigSecret: {name: "not a name"}
credentials:`+fleetCredential+`  targets: {secretName: pull, namespaces: [a], clusters: [east, north, east]}
`), "bad.yaml")
	wantProblems(t, err, []string{
		`clusters[0].name: Invalid value: "local"`,
		"clusters[1].kubeconfigFrom: Required value",
		"clusters[2].name: Duplicate value",
		"clusters[2]: Invalid value",
		"clusters[3].name: Invalid value",
		"clusters[3].kubeconfigSecret.name: Invalid value",
		`credentials[0].targets.clusters[1]: Not found: "north"`,
		"credentials[0].targets.clusters[2]: Duplicate value",
	})
}
