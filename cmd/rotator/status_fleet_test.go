package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/internal/state"
)

func fleetConfig() *config.Config {
	return &config.Config{
		Clusters: []config.Cluster{{Name: "east"}, {Name: "west"}, {Name: "idle"}},
		Credentials: []config.Credential{
			{Name: "a", Provider: "harbor"},
			{Name: "b", Provider: "gitlab", Targets: config.Targets{Clusters: []string{"west", "local", "east"}}},
		},
	}
}

// --cluster picks one cluster; a name the config does not know, or one no credential targets,
// is refused naming the clusters it has.
func TestStatusClustersOrderAndFilter(t *testing.T) {
	for _, tc := range []struct {
		only    string
		want    []string // cluster/credential
		wantErr string
	}{
		{only: "", want: []string{"local/a", "local/b", "east/b", "west/b"}},
		{only: "west", want: []string{"west/b"}},
		{only: "local", want: []string{"local/a", "local/b"}},
		{only: "north", wantErr: `unknown cluster "north": the config's clusters are local, east, west, idle`},
		{only: "idle", wantErr: `no credential targets cluster "idle"`},
	} {
		runs, err := statusClusters(fleetConfig(), tc.only)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("--cluster %q: %v, want %q", tc.only, err, tc.wantErr)
			}
			continue
		}
		var got []string
		for _, r := range runs {
			for _, c := range r.creds {
				got = append(got, r.cluster+"/"+c.Name)
			}
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("--cluster %q: %v %v, want %v", tc.only, got, err, tc.want)
		}
	}
}

// Each (credential, cluster) row shows its own state, read from the rotator's own cluster under
// its own key, even for a member that could not be reached; that member's rows carry its error
// and no namespaces in sync, and the fleet is then not healthy.
func TestFleetRowsOnePerCredentialAndCluster(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	store := &state.Store{Client: fake.NewClientset(), Namespace: "rotator-system"}
	for key, id := range map[string]string{"a": "1", "b": "2", "b.east": "3", "b.west": "4"} {
		st := &state.State{Current: &state.Issued{ID: id, Name: "robot-" + key, Password: currentPassword, IssuedAt: now}, LastRun: &state.Run{Time: now, Result: "succeeded"}}
		if err := store.Save(ctx, key, st); err != nil {
			t.Fatal(err)
		}
	}
	inSync := func(ctx context.Context, run *clusterRun, cred *config.Credential) *rotation.Report {
		return &rotation.Report{Secrets: []rotation.SecretResult{{Namespace: "n1", Action: "unchanged"}, {Namespace: "n2", Action: "unchanged"}}}
	}
	down := errors.New("cluster west: cannot reach its API server at https://127.0.0.1:1")
	for _, tc := range []struct {
		name     string
		westErr  error
		wantOK   bool
		wantSync map[string]string // cluster/credential -> in sync
	}{
		{name: "all reached", wantOK: true, wantSync: map[string]string{"local/a": "2/2", "local/b": "2/2", "east/b": "2/2", "west/b": "2/2"}},
		{name: "west down", westErr: down, wantSync: map[string]string{"local/a": "2/2", "local/b": "2/2", "east/b": "2/2", "west/b": "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fleetConfig()
			runs, err := statusClusters(cfg, "")
			if err != nil {
				t.Fatal(err)
			}
			for i := range runs {
				if runs[i].cluster == "west" {
					runs[i].err = tc.westErr
				}
			}
			rows, ok := fleetRows(ctx, cfg, store, runs, inSync, now)
			if ok != tc.wantOK {
				t.Errorf("ok %v, want %v", ok, tc.wantOK)
			}
			wantID := map[string]string{"local/a": "1", "local/b": "2", "east/b": "3", "west/b": "4"}
			var order []string
			for _, r := range rows {
				k := r.Cluster + "/" + r.Credential
				order = append(order, k)
				if r.ID != wantID[k] {
					t.Errorf("%s: id %s, want %s (its own state)", k, r.ID, wantID[k])
				}
				if got := inSyncOf(r); got != tc.wantSync[k] {
					t.Errorf("%s: in sync %s, want %s", k, got, tc.wantSync[k])
				}
				hasDown := slices.Contains(r.Problems, down.Error())
				if hasDown != (k == "west/b" && tc.westErr != nil) {
					t.Errorf("%s: problems %v", k, r.Problems)
				}
			}
			if want := []string{"local/a", "local/b", "east/b", "west/b"}; !slices.Equal(order, want) {
				t.Errorf("rows %v, want %v", order, want)
			}
		})
	}
}

func inSyncOf(r credentialStatus) string { return inSync(r) }

// decodeRows reads the credentials of status -o json.
func decodeRows(t *testing.T, out string) []map[string]any {
	t.Helper()
	var doc struct{ Credentials []map[string]any }
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return doc.Credentials
}

// Without --config, a member's state Secret is a row of its cluster, beside the credential's
// own; --cluster keeps one cluster's rows, and a cluster with no state is a usage error naming
// those there are.
func TestStatusWithoutConfigSplitsMemberStates(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	kube := fake.NewClientset()
	s := &state.Store{Client: kube, Namespace: "rotator-system"}
	for _, key := range []string{"h.west", "h", "h-x", "h.east"} {
		if err := s.Save(ctx, key, &state.State{Current: &state.Issued{ID: key, Name: "robot-" + key, Password: currentPassword, IssuedAt: now}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args     []string
		want     []string
		wantCode int
		wantErr  string
	}{
		{want: []string{"h/local/h", "h/east/h.east", "h/west/h.west", "h-x/local/h-x"}},
		{args: []string{"--cluster", "east"}, want: []string{"h/east/h.east"}},
		{args: []string{"--cluster", "north"}, wantCode: exitUsage, wantErr: `no state of cluster "north" (states of clusters: local, east, west) in namespace rotator-system`},
	} {
		out, err := runStatus(t, kube, append([]string{"-o", "json"}, tc.args...)...)
		if code := exitCodeOf(err); code != tc.wantCode || tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("status %v: exit %d %v, want %d %q", tc.args, code, err, tc.wantCode, tc.wantErr)
			continue
		}
		if tc.wantErr != "" {
			continue
		}
		var got []string
		for _, r := range decodeRows(t, out) {
			got = append(got, r["credential"].(string)+"/"+r["cluster"].(string)+"/"+r["id"].(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("status %v: rows %v, want %v", tc.args, got, tc.want)
		}
	}
	if _, err := runStatus(t, fake.NewClientset(), "--cluster", "east"); exitCodeOf(err) != exitFailed || !strings.Contains(err.Error(), "no state secret in namespace rotator-system") {
		t.Errorf("--cluster where no state is: %v, want exit 1 naming the namespace", err)
	}
	out, _ := runStatus(t, kube)
	if !strings.Contains(out, "CLUSTER") || !strings.Contains(out, "robot-h.east") {
		t.Errorf("text output:\n%s", out)
	}
}

// The text table names each row's cluster, shows "-" in sync for a member that could not be
// asked, and its notes say which cluster they are about.
func TestPrintStatusNamesTheCluster(t *testing.T) {
	one := 1
	rows := []credentialStatus{
		{Credential: "b", Cluster: "local", Provider: "harbor", ID: "2", InSync: &one, Namespaces: &one},
		{Credential: "b", Cluster: "west", Provider: "harbor", ID: "4", Problems: []string{"cluster west: cannot reach its API server at https://w:6443"}},
	}
	var out bytes.Buffer
	cmd := newStatusCommand(&globalFlags{}, nil)
	cmd.SetOut(&out)
	printStatus(cmd, rows)
	lines := strings.Split(out.String(), "\n")
	for i, want := range [][]string{{"CREDENTIAL", "CLUSTER", "PROVIDER"}, {"b", "local", "harbor", "1/1"}, {"b", "west", "harbor", "-"}} {
		f := strings.Fields(lines[i])
		if len(f) < len(want) || !slices.Equal(f[:2], want[:2]) || !slices.Contains(f, want[len(want)-1]) {
			t.Errorf("line %d %q, want %v", i, lines[i], want)
		}
	}
	if !strings.Contains(out.String(), "b (cluster west): cluster west: cannot reach its API server at https://w:6443\n") {
		t.Errorf("notes:\n%s", out.String())
	}
}
