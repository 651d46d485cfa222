//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rotatorhq/rotator/internal/state"
)

// `rotator status` without a config file, as the rotator's user: after a rotation, it reads the
// state Secret of the rotator's namespace (-n) alone and shows the credential's id and expiry as
// the state holds them, in JSON and in text, with no password; a namespace with no state is
// exit 1; with --config it still shows the namespaces in sync.
func TestStatusWithoutConfigReadsTheCluster(t *testing.T) {
	ctx := context.Background()
	const cred = "stnocfg"
	sys := stateNamespaceFor(t, "st-sys")
	nss := deployTargets(t, "st-e2e", 1) // a workload, whose image verifies the new credential
	cfg := wedgeConfig(t, cred, sys, nss, "1h")
	res := runRotator(t, rig.RotatorKubeconfig, "rotate", "now", "--config", cfg, "-o", "json")
	if res.Code != 0 || !res.OK {
		t.Fatalf("rotate now failed (exit %d):\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	issued := onlyReport(t, res).Issued
	st, err := (&state.Store{Client: rig.Admin, Namespace: sys}).Load(ctx, cred)
	if err != nil || st.Current == nil || st.Current.ID != issued.ID || st.Current.ExpiresAt.IsZero() {
		t.Fatalf("state after the rotation: %+v, %v (issued %+v)", st, err, issued)
	}
	noPassword := func(res rotateResult) {
		t.Helper()
		if strings.Contains(res.Stdout+res.Stderr, st.Current.Password) {
			t.Fatalf("status printed the robot's password:\n%s", res.Stdout)
		}
	}

	res = runRotator(t, rig.RotatorKubeconfig, "status", "-n", sys, "-o", "json")
	noPassword(res)
	if res.Code != 0 {
		t.Fatalf("status -n %s -o json: exit %d\n%s\n%s", sys, res.Code, res.Stdout, res.Stderr)
	}
	var doc struct {
		StateNamespace string
		Note           string
		Credentials    []map[string]any
	}
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, res.Stdout)
	}
	if doc.StateNamespace != sys || !strings.Contains(doc.Note, "--config") || len(doc.Credentials) != 1 {
		t.Fatalf("status -o json: %s", res.Stdout)
	}
	row := doc.Credentials[0]
	expires, _ := time.Parse(time.RFC3339, fmtAny(row["expires"]))
	if row["credential"] != cred || row["id"] != st.Current.ID || row["name"] != st.Current.Name ||
		!expires.Equal(st.Current.ExpiresAt) || row["lastResult"] != "succeeded" {
		t.Fatalf("status row %v, want id %s name %s expires %s", row, st.Current.ID, st.Current.Name, st.Current.ExpiresAt)
	}
	if _, ok := row["namespacesInSync"]; ok {
		t.Fatalf("namespacesInSync without a config: %v", row)
	}

	res = runRotator(t, rig.RotatorKubeconfig, "status", "-n", sys)
	noPassword(res)
	if res.Code != 0 {
		t.Fatalf("status -n %s: exit %d\n%s\n%s", sys, res.Code, res.Stdout, res.Stderr)
	}
	for _, want := range []string{"CREDENTIAL", cred, st.Current.Name, st.Current.ID, st.Current.ExpiresAt.UTC().Format("2006-01-02 15:04Z"), "need --config"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("status text lacks %q:\n%s", want, res.Stdout)
		}
	}

	// A namespace holding no state: nothing healthy to show.
	res = runRotator(t, rig.RotatorKubeconfig, "status", "-n", nss[0])
	if res.Code != 1 || !strings.Contains(res.Stderr, "no state secret in namespace "+nss[0]) {
		t.Fatalf("status -n %s (no state): exit %d\n%s\n%s", nss[0], res.Code, res.Stdout, res.Stderr)
	}

	// With the config: as before, the namespaces in sync too.
	res = runRotator(t, rig.RotatorKubeconfig, "status", "--config", cfg, "-o", "json")
	var withCfg struct{ Credentials []statusRow }
	if err := json.Unmarshal([]byte(res.Stdout), &withCfg); err != nil || res.Code != 0 || len(withCfg.Credentials) != 1 ||
		withCfg.Credentials[0].ID != st.Current.ID || withCfg.Credentials[0].InSync != 1 || withCfg.Credentials[0].Namespaces != 1 {
		t.Fatalf("status --config: exit %d %v\n%s\n%s", res.Code, err, res.Stdout, res.Stderr)
	}
}

func fmtAny(v any) string {
	s, _ := v.(string)
	return s
}
