//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rotatorhq/rotator/internal/rotation"
)

var nsCounter atomic.Int32

// namespaces creates n fresh namespaces named after the test.
func namespaces(t *testing.T, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1))
		if err := rig.CreateNamespace(context.Background(), ns, nil); err != nil {
			t.Fatal(err)
		}
		out = append(out, ns)
	}
	return out
}

// eventually polls cond until it returns true or the timeout passes; the last message explains.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	msg := ""
	for time.Now().Before(deadline) {
		var ok bool
		if ok, msg = cond(); ok {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s", what, timeout, msg)
}

func deploymentAvailable(ns, name string) (bool, string) {
	return deploymentAvailableIn(rig.Admin, ns, name)
}

// deploymentAvailableIn is deploymentAvailable in the cluster of c (an extra cluster of the rig).
func deploymentAvailableIn(c kubernetes.Interface, ns, name string) (bool, string) {
	d, err := c.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	want := *d.Spec.Replicas
	s := d.Status
	ok := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want
	return ok, fmt.Sprintf("deployment %s/%s: generation %d observed %d, replicas %d updated %d available %d", ns, name, d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.AvailableReplicas)
}

func waitAvailable(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 90*time.Second, "deployment available", func() (bool, string) { return deploymentAvailable(ns, name) })
}

// pullFailure waits for a pod of app in ns to report an image pull failure, and returns the
// container's waiting reason and the kubelet-style Warning event's message.
func pullFailure(t *testing.T, ns, app string) (reason, event string) {
	t.Helper()
	ctx := context.Background()
	eventually(t, 60*time.Second, "pull failure of "+ns+"/"+app, func() (bool, string) {
		pods, err := rig.Admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
					reason = w.Reason
				}
			}
		}
		evs, err := rig.Admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == "Failed" && strings.Contains(e.Message, "Failed to pull image") {
				event = e.Message
			}
		}
		return reason != "" && event != "", fmt.Sprintf("reason %q event %q", reason, event)
	})
	return reason, event
}

// pull does what a registry client with only this credential can do: a manifest request.
func pull(image, username, password string) error {
	ref, err := name.ParseReference(image, name.Insecure)
	if err != nil {
		return err
	}
	_, err = remote.Head(ref, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: username, Password: password})))
	return err
}

// secretCredential returns the username and password the secret holds for the registry.
func secretCredential(t *testing.T, ns, secretName string) (string, string) {
	t.Helper()
	return secretCredentialIn(t, rig.Admin, ns, secretName)
}

// secretCredentialIn is secretCredential in the cluster of c (an extra cluster of the rig).
func secretCredentialIn(t *testing.T, c kubernetes.Interface, ns, secretName string) (string, string) {
	t.Helper()
	s, err := c.CoreV1().Secrets(ns).Get(context.Background(), secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string }
	}
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.Fatal(err)
	}
	e, ok := cfg.Auths[rig.RegistryHost]
	if !ok {
		t.Fatalf("secret %s/%s has no auths key %s", ns, secretName, rig.RegistryHost)
	}
	return e.Username, e.Password
}

// rotateResult is one run of the rotator binary.
type rotateResult struct {
	Code    int
	Stdout  string
	Stderr  string
	Reports []*rotation.Report
	OK      bool
	// MaxRSS is the process's peak resident set, in bytes (wait4's rusage).
	MaxRSS int64
}

// runRotator runs the rotator binary as a user would; with -o json its reports are decoded.
func runRotator(t *testing.T, kubeconfig string, args ...string) rotateResult {
	t.Helper()
	return runRotatorWith(t, rotatorBin, nil, kubeconfig, args...)
}

// runRotatorWith runs binary bin with extra environment variables env.
func runRotatorWith(t *testing.T, bin string, env []string, kubeconfig string, args ...string) rotateResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = append(append(os.Environ(), "HARBOR_PASSWORD="+rig.HarborPassword), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := rotateResult{Stdout: out.String(), Stderr: errb.String()}
	if ru, ok := processUsage(cmd); ok {
		res.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run rotator: %v", err)
	}
	for _, a := range args {
		if a == "json" {
			var doc struct {
				Reports []*rotation.Report `json:"reports"`
				OK      bool               `json:"ok"`
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("rotator -o json printed no JSON (%v):\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			res.Reports, res.OK = doc.Reports, doc.OK
		}
	}
	// No secret ever printed.
	if strings.Contains(res.Stdout+res.Stderr, rig.HarborPassword) {
		t.Fatalf("the Harbor admin password appeared in the rotator's output")
	}
	return res
}

// auditEvent is the part of a kube-apiserver audit event the tests read.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	// RequestURI carries the query, fieldManager= included.
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource, Namespace, Name, Subresource string
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// auditMark is a position in the API server's audit log.
func auditMark(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(rig.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// requestsSince returns the completed requests of user after mark, as the API server saw them.
func requestsSince(t *testing.T, mark int64, user string) []auditEvent {
	t.Helper()
	f, err := os.Open(rig.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(mark, 0); err != nil {
		t.Fatal(err)
	}
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Stage == "ResponseComplete" && e.User.Username == user {
			out = append(out, e)
		}
	}
	return out
}

func writes(evs []auditEvent) []string {
	var out []string
	for _, e := range evs {
		switch e.Verb {
		case "create", "update", "patch", "delete", "deletecollection":
			out = append(out, fmt.Sprintf("%s %s %s/%s (%d)", e.Verb, e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ResponseStatus.Code))
		}
	}
	return out
}

// harborChanges lists the requests since the last reset that could change Harbor.
func harborChanges() []string {
	var out []string
	for _, r := range rig.Harbor.Requests() {
		if r.Method != "GET" && r.Method != "HEAD" && strings.HasPrefix(r.EscapedPath, "/api/") {
			out = append(out, r.Method+" "+r.EscapedPath)
		}
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func getDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := rig.Admin.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// processUsage is the rusage of cmd once it ended (false if it never started).
func processUsage(cmd *exec.Cmd) (*syscall.Rusage, bool) {
	if cmd.ProcessState == nil {
		return nil, false
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru, ok
}
