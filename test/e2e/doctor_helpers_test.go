//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rotatorhq/rotator/internal/doctor"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/providers"
)

// secretValues are every secret value a doctor test put into the cluster; no output of the
// doctor may contain one.
type secretValues struct {
	mu     sync.Mutex
	values []string
}

// add remembers a credential's password and the auth fields built from it.
func (s *secretValues) add(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := username + ":" + password
	s.values = append(s.values, password,
		base64.StdEncoding.EncodeToString([]byte(auth)), base64.RawStdEncoding.EncodeToString([]byte(auth)))
}

// robotFor issues a robot and remembers its secret.
func (s *secretValues) robotFor(t *testing.T, prefix string, projects ...string) providers.Credential {
	t.Helper()
	r := robot(t, prefix, projects...)
	s.add(r.Username, r.Password)
	return r
}

// check fails when out holds a remembered value, or the Harbor admin's password.
func (s *secretValues) check(t *testing.T, what, out string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range append([]string{rig.HarborPassword}, s.values...) {
		if v != "" && strings.Contains(out, v) {
			t.Fatalf("%s printed a secret value", what)
		}
	}
}

// doctorResult is one run of `rotator doctor`.
type doctorResult struct {
	Code           int
	Stdout, Stderr string
	Report         *doctor.Report // with -o json
}

// runDoctor runs the built binary's doctor as the "rotator-doctor" user, with the rights of the
// shipped deploy/rbac/clusterrole-doctor.yaml (no Secret read) and of any RoleBinding a test
// added, checks that no secret value was printed and, with -o json, decodes the report.
func runDoctor(t *testing.T, secrets *secretValues, args ...string) doctorResult {
	t.Helper()
	return runDoctorAs(t, rig.DoctorKubeconfig, secrets, args...)
}

// runDoctorAs is runDoctor as the identity of kubeconfig.
func runDoctorAs(t *testing.T, kubeconfig string, secrets *secretValues, args ...string) doctorResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rotatorBin, append([]string{"--kubeconfig", kubeconfig, "doctor"}, args...)...)
	cmd.Env = append(os.Environ(), "HARBOR_PASSWORD="+rig.HarborPassword)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := doctorResult{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run rotator doctor: %v", err)
	}
	secrets.check(t, "rotator doctor", res.Stdout+res.Stderr)
	if strings.Contains(strings.Join(args, " "), "-o json") {
		res.Report = &doctor.Report{}
		if err := json.Unmarshal(out.Bytes(), res.Report); err != nil {
			t.Fatalf("rotator doctor -o json printed no report (exit %d, %v):\n%s\n%s", res.Code, err, res.Stdout, res.Stderr)
		}
	}
	return res
}

// failingCauses returns the cause of every container of rep that fails to pull.
func failingCauses(rep *doctor.Report) []doctor.ContainerReport {
	var out []doctor.ContainerReport
	for _, p := range rep.Pods {
		for _, c := range p.Containers {
			if c.Waiting != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// applyFix runs the fix lines the doctor printed as a user would paste them into bash, after
// putting the real values in place of the placeholders. kubectl and rotator act as cluster admin,
// as the user pasting would.
func applyFix(t *testing.T, fix []string, subs map[string]string) string {
	t.Helper()
	script := "set -euo pipefail\n"
	for _, l := range fix {
		for ph, v := range subs {
			if strings.Contains(v, "'") {
				t.Fatalf("value for %s cannot go inside single quotes", ph)
			}
			l = strings.ReplaceAll(l, ph, v)
		}
		if strings.Contains(l, "<") && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			t.Fatalf("fix line still holds a placeholder: %s", l)
		}
		script += l + "\n"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+rig.AdminKubeconfig,
		"HARBOR_PASSWORD="+rig.HarborPassword,
		"PATH="+filepath.Dir(rotatorBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the printed fix failed: %v\n%s\noutput:\n%s", err, strings.Join(fix, "\n"), out)
	}
	return string(out)
}

// rawPullSecret creates a Secret exactly as given, as a user's hand-made manifest would.
func rawPullSecret(t *testing.T, ns, name string, typ corev1.SecretType, data map[string][]byte) {
	t.Helper()
	_, err := rig.Admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: typ, Data: data,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// dockerConfig is a .dockerconfigjson document with one entry, written by hand.
func dockerConfig(key, username, password, auth string) []byte {
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{key: map[string]string{
		"username": username, "password": password, "auth": auth,
	}}})
	return b
}

func basicAuth(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}

// defaultServiceAccount waits for the namespace's default ServiceAccount.
func defaultServiceAccount(t *testing.T, ns string) *corev1.ServiceAccount {
	t.Helper()
	var sa *corev1.ServiceAccount
	eventually(t, 30*time.Second, "serviceaccount default of "+ns, func() (bool, string) {
		var err error
		sa, err = rig.Admin.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return sa
}

// notCheckedOf returns c's NotChecked of check, or nil.
func notCheckedOf(c doctor.ContainerReport, check doctor.Check) *doctor.NotChecked {
	for i := range c.NotChecked {
		if c.NotChecked[i].Check == check {
			return &c.NotChecked[i]
		}
	}
	return nil
}

// checkNotChecked checks what the doctor, under its shipped role, says it could not check in
// namespace ns: the reason, and for a pull secret the line and RoleBinding the docs promise.
func checkNotChecked(t *testing.T, ns string, c doctor.ContainerReport) {
	t.Helper()
	for _, n := range c.NotChecked {
		if n.Reason != "forbidden" || n.Summary == "" {
			t.Errorf("not checked without reason or summary: %+v", n)
		}
		if n.Check != doctor.CheckSecretContents {
			continue
		}
		want := fmt.Sprintf("could not read secret %s in namespace %s: forbidden; bind ClusterRole %s with a RoleBinding in %s for full checks", n.Secret, ns, sandbox.DoctorSecretsRole, ns)
		grant := fmt.Sprintf("kubectl create rolebinding %s -n %s --clusterrole %s --user %s", sandbox.DoctorSecretsRole, ns, sandbox.DoctorSecretsRole, sandbox.DoctorUser)
		if n.Namespace != ns || !strings.HasPrefix(n.Summary, want) || n.Grant != grant || len(n.Codes) == 0 {
			t.Errorf("secret not checked: %+v\nwant summary %q and grant %q", n, want, grant)
		}
	}
}

// noSecretReadsSince fails when the API server's audit log shows the doctor's identity sending a
// get, list or watch of Secrets since mark, in one of namespaces or cluster-wide: allowed or
// refused, the shipped role must not even try.
func noSecretReadsSince(t *testing.T, mark int64, namespaces ...string) {
	t.Helper()
	var reads []string
	for _, e := range requestsSince(t, mark, sandbox.DoctorUser) {
		if e.ObjectRef.Resource != "secrets" || (e.ObjectRef.Namespace != "" && !slices.Contains(namespaces, e.ObjectRef.Namespace)) {
			continue
		}
		reads = append(reads, fmt.Sprintf("%s secrets %s/%s (%d)", e.Verb, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ResponseStatus.Code))
	}
	if len(reads) > 0 {
		t.Errorf("the audit log shows user %s reading Secrets under the shipped ClusterRole rotator-doctor:\n%s", sandbox.DoctorUser, strings.Join(reads, "\n"))
	}
}

// secretReadsSince returns the doctor identity's Secret requests since mark, as "verb ns/name (code)".
func secretReadsSince(t *testing.T, mark int64) []string {
	t.Helper()
	var out []string
	for _, e := range requestsSince(t, mark, sandbox.DoctorUser) {
		if e.ObjectRef.Resource == "secrets" {
			out = append(out, fmt.Sprintf("%s %s/%s (%d)", e.Verb, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ResponseStatus.Code))
		}
	}
	return out
}
