package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

//go:embed runbook.sh
var runbookScript []byte

// The methods measured. Each reaches the same end state from the same starting point.
const (
	// methodRotatorWrite is the rotator under restart.policy Always with --skip-rollout-wait
	// and kubernetes.restartsPerMinute at its maximum (writePhasePerMinute): the same writes as
	// the floor (every template patched), without the wait.
	methodRotatorWrite = "rotator, write phase (Always, 6000 restarts/min, --skip-rollout-wait)"
	// methodRotator is `rotate now` as shipped: every default (restart.policy IfNeeded), end to
	// end.
	methodRotator = "rotator as shipped (IfNeeded, end to end)"
	// methodRotatorAlways is `rotate now` with restart.policy Always, end to end: every template
	// patched at kubernetes.restartsPerMinute, every rollout awaited by watch.
	methodRotatorAlways = "rotator, Always (end to end)"
	methodFloor         = "floor (client-go, writes only)"
	// methodFloorAlways is the floor of restart.policy Always: the floor's writes, then every
	// template patched at kubernetes.restartsPerMinute and every rollout awaited by watch.
	methodFloorAlways = "floor, Always (paced patches, rollouts by watch)"
	methodRunbook     = "runbook (kubectl loop)"
	methodNoop        = "rotator, nothing due (--if-due)"
	// The probe: the rotator's write phase and the floor at a higher client rate limit.
	methodRotatorWriteProbe = "rotator, write phase, qps %g"
	methodFloorProbe        = "floor, qps %g"
)

// writePhasePerMinute is the write phase's kubernetes.restartsPerMinute: the most the config
// allows (100 a second), so that the template patches are held back by the client rate limit,
// as the floor's are, rather than by the restart pace.
const writePhasePerMinute = 6000

// measurement is one method's run.
type measurement struct {
	Method string
	Round  int
	// Namespaces the run covered.
	Namespaces int
	Wall       time.Duration
	// EndState is from the start of the process to the API server's answer to its last write
	// of a Secret, ServiceAccount or Deployment: when the end state was reached.
	EndState  time.Duration
	Requests  requestStats
	MaxRSSKiB int64
	// RSSFloorKiB is the measuring wrapper's own peak, under which MaxRSSKiB cannot go.
	RSSFloorKiB int64
	// CPU is the process's user and system time: far below Wall when the client rate limit (or
	// a wait) sets the pace, not the process.
	CPU time.Duration
	// Steps are the rotator's own step durations from its progress output.
	Steps map[string]time.Duration
	// Extrapolated is set when the wall time was measured on fewer namespaces and scaled.
	Extrapolated bool
	MeasuredWall time.Duration
	// Restarted and NotRestarted count the rotator report's workloads by reason
	// (workloads[].reason), restarted or not.
	Restarted    map[string]int `json:",omitempty"`
	NotRestarted map[string]int `json:",omitempty"`
}

// runner runs the methods against one rig.
type runner struct {
	dir        string
	spawn      spawner
	audit      auditLog
	rotatorBin string
	floorBin   string
	// rotatorKubeconfig is the rig's "rotator" user, with the shipped RBAC.
	rotatorKubeconfig string
	rotatorUser       string
	runbook, floor    identity
	harborPassword    string
	// dockerConfig is a file holding the .dockerconfigjson the runbook and the floor write (a
	// robot issued up front, as an operator would before running the runbook).
	dockerConfig string
	// profileDir, when set, gets the CPU and blocking profiles of every rotator run, one
	// directory each (-profile).
	profileDir string
	profiles   int
}

// measure marks the audit log, runs fn, and attributes the user's requests since the mark.
func (r *runner) measure(method, user string, fn func() (childRun, error)) (measurement, childRun, error) {
	mark, err := r.audit.mark()
	if err != nil {
		return measurement{}, childRun{}, err
	}
	run, err := fn()
	if err != nil {
		return measurement{}, run, fmt.Errorf("%s: %w", method, err)
	}
	// The audit backend writes before answering (blocking mode); a moment more covers the file
	// write of the very last answer.
	time.Sleep(time.Second)
	evs, err := r.audit.since(mark, user)
	if err != nil {
		return measurement{}, run, err
	}
	m := measurement{Method: method, Wall: run.wall(), Requests: summarise(evs), MaxRSSKiB: run.MaxRSSKiB, RSSFloorKiB: run.RSSFloorKiB, CPU: run.CPU}
	if !m.Requests.LastEndStateWrite.IsZero() {
		m.EndState = m.Requests.LastEndStateWrite.Sub(run.Start)
	}
	return m, run, nil
}

// rotatorConfig writes the config the rotator runs with: every default (but the client rate
// limit when qps > 0, kubernetes.restartsPerMinute when perMinute > 0, and restart.policy when
// policy is set), one Harbor credential, the benchmark namespaces by label.
func (r *runner) rotatorConfig(name, harborURL, harborUser string, qps float64, burst, perMinute int, policy string) (string, error) {
	var fields []string
	if qps > 0 {
		fields = append(fields, fmt.Sprintf("qps: %g, burst: %d", qps, burst))
	}
	if perMinute > 0 {
		fields = append(fields, fmt.Sprintf("restartsPerMinute: %d", perMinute))
	}
	kube := ""
	if len(fields) > 0 {
		kube = "kubernetes: {" + strings.Join(fields, ", ") + "}\n"
	}
	restart := ""
	if policy != "" {
		restart = fmt.Sprintf("  restart: {policy: %s}\n", policy)
	}
	cfg := fmt.Sprintf(`stateNamespace: rotator-system
%scredentials:
- name: bench
  provider: harbor
  harbor:
    url: %s
    username: %s
    passwordFrom: {env: HARBOR_PASSWORD}
    projects: [proj-a]
  targets:
    secretName: %s
    namespaceSelector: "%s=true"
    serviceAccounts: [%s]
%s`, kube, harborURL, harborUser, secretName, benchLabel, serviceAccount, restart)
	path := filepath.Join(r.dir, name)
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// workload is one entry of the rotator report's workloads[].
type workload struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Reason    string `json:"reason"`
}

// restarted: the report says the run restarted it.
func (w workload) restarted() bool { return w.Action == "restarted" }

// rotate runs `rotator rotate now` with extra flags and checks its JSON report; it returns the
// report's workloads.
func (r *runner) rotate(ctx context.Context, method, config, wantResult string, flags ...string) (measurement, []workload, error) {
	args := append([]string{"--kubeconfig", r.rotatorKubeconfig, "rotate", "now", "--config", config, "-o", "json"}, flags...)
	env := []string{"HARBOR_PASSWORD=" + r.harborPassword}
	if r.profileDir != "" {
		r.profiles++
		dir := filepath.Join(r.profileDir, fmt.Sprintf("%02d-%s", r.profiles, slug(method)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return measurement{}, nil, err
		}
		env = append(env, "ROTATOR_PPROF_DIR="+dir)
	}
	m, run, runErr := r.measure(method, r.rotatorUser, func() (childRun, error) {
		return r.spawn.run(ctx, env, r.rotatorBin, args...)
	})
	var doc struct {
		OK      bool `json:"ok"`
		Reports []struct {
			Result    string            `json:"result"`
			Secrets   []json.RawMessage `json:"secrets"`
			Workloads []workload        `json:"workloads"`
			Errors    []string          `json:"errors"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(run.Stdout, &doc); err != nil || len(doc.Reports) != 1 {
		if runErr != nil {
			return m, nil, runErr
		}
		return m, nil, fmt.Errorf("%s: no JSON report (%w):\n%s", method, err, tail(run.Stderr, 2000))
	}
	rep := doc.Reports[0]
	if !doc.OK || rep.Result != wantResult {
		return m, nil, fmt.Errorf("%s: result %q, want %q: %v", method, rep.Result, wantResult, rep.Errors)
	}
	m.Namespaces = len(rep.Secrets)
	m.Steps = progressSteps(run.Stderr)
	m.Restarted, m.NotRestarted = map[string]int{}, map[string]int{}
	for _, w := range rep.Workloads {
		if w.restarted() {
			m.Restarted[w.Reason]++
		} else {
			m.NotRestarted[w.Reason]++
		}
	}
	return m, rep.Workloads, nil
}

// progressLine is the rotator's live output: "[cred] step  3/10 message (1.234s)".
var progressLine = regexp.MustCompile(`^\[[^\]]+\] (\S+)\s.*\(([0-9][0-9a-zµ.]*)\)$`)

// progressSteps returns the longest elapsed time reported for each step: the step's duration.
func progressSteps(stderr []byte) map[string]time.Duration {
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		m := progressLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[2])
		if err != nil {
			continue
		}
		if d > out[m[1]] {
			out[m[1]] = d
		}
	}
	return out
}

// runFloor runs the floor program over nss, restarting with value.
func (r *runner) runFloor(ctx context.Context, method string, nss []string, value string, qps float64, burst, concurrency int, extra ...string) (measurement, error) {
	list, err := r.namespaceFile("floor", nss)
	if err != nil {
		return measurement{}, err
	}
	m, _, err := r.measure(method, r.floor.Username, func() (childRun, error) {
		args := append([]string{"-kubeconfig", r.floor.Kubeconfig, "-namespaces", list,
			"-dockerconfig", r.dockerConfig, "-secret", secretName, "-serviceaccount", serviceAccount,
			"-deployments", depDirect + "," + depViaSA, "-value", value,
			"-qps", fmt.Sprint(qps), "-burst", fmt.Sprint(burst), "-concurrency", fmt.Sprint(concurrency)}, extra...)
		return r.spawn.run(ctx, nil, r.floorBin, args...)
	})
	m.Namespaces = len(nss)
	return m, err
}

// runRunbook runs the kubectl loop (runbook.sh) over nss. kubectl's discovery cache is warmed
// first, as it is on an operator's machine.
func (r *runner) runRunbook(ctx context.Context, nss []string) (measurement, error) {
	list, err := r.namespaceFile("runbook", nss)
	if err != nil {
		return measurement{}, err
	}
	script := filepath.Join(r.dir, "runbook.sh")
	if err := os.WriteFile(script, runbookScript, 0o700); err != nil {
		return measurement{}, err
	}
	env := []string{"KUBECONFIG=" + r.runbook.Kubeconfig, "KUBECACHEDIR=" + filepath.Join(r.dir, "kubectl-cache")}
	if _, err := r.spawn.run(ctx, env, "kubectl", "api-resources"); err != nil {
		return measurement{}, fmt.Errorf("warm kubectl's discovery cache: %w", err)
	}
	m, _, err := r.measure(methodRunbook, r.runbook.Username, func() (childRun, error) {
		return r.spawn.run(ctx, env, "bash", script, secretName, r.dockerConfig, list, serviceAccount, depDirect, depViaSA)
	})
	m.Namespaces = len(nss)
	return m, err
}

func (r *runner) namespaceFile(name string, nss []string) (string, error) {
	path := filepath.Join(r.dir, name+"-namespaces.txt")
	return path, os.WriteFile(path, []byte(strings.Join(nss, "\n")+"\n"), 0o600)
}

// slug makes a method's name a directory name: "rotator, write phase" → "rotator-write-phase".
func slug(method string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(method) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
