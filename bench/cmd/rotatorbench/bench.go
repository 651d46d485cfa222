package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/pullsecret"
	"github.com/rotatorhq/rotator/internal/sandbox"
	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/harbor"
)

// quiesceTimeout bounds the wait for the controller manager between measurements; at its
// default client rate limit (20/s) 4,000 rollouts take minutes.
const quiesceTimeout = 30 * time.Minute

// bench is one benchmark: the rig, the fixture, and every measurement so far.
type bench struct {
	opts    options
	dir     string
	machine machine
	started time.Time
	rig     *sandbox.Rig
	fx      *fixture
	r       runner
	// config is every default (restart.policy IfNeeded); alwaysConfig the same with
	// restart.policy Always; writeConfig alwaysConfig with writePhasePerMinute (the write
	// phase); probeConfig writeConfig with the client rate limit of -probe-qps.
	config, alwaysConfig, writeConfig string
	probeConfig                       string
	registry                          string
	// defaults are the rotator's defaults the floor runs at.
	defaults config.Kubernetes

	runs  []measurement
	noop  []measurement
	scale []measurement
	probe []measurement
	// svc is the service scenario's record (-scenario service).
	svc *serviceRecord
}

// service runs the service scenario and writes its results, also when it stopped half way
// (RESULTS-service.md then says where, and renders what was measured).
func (b *bench) service(ctx context.Context) error {
	err := b.runService(ctx)
	if b.rig != nil {
		defer b.rig.Stop() //nolint:contextcheck // stopping must not depend on ctx, which may be done by then
	}
	if b.svc == nil {
		return err
	}
	rec := b.serviceRecord()
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		if len(first) > 300 {
			first = first[:300] + "..."
		}
		rec.Unfinished = first
	}
	if serr := saveService(rec, b.opts.out); serr != nil {
		return errors.Join(err, serr)
	}
	logf("wrote %s", b.opts.out)
	for _, v := range serviceVerdicts(rec) {
		logf("  %s: %s — %s", v.Target, v.Measured, serviceVerdictText(v))
	}
	return err
}

// startRig starts the sandbox and points the runner at it: its audit log, the rig's `rotator`
// user (the shipped RBAC), the Harbor double's password.
func (b *bench) startRig(ctx context.Context) error {
	logf("start the sandbox")
	rig, err := sandbox.Start(ctx, sandbox.Options{Dir: filepath.Join(b.dir, "rig"), Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		return fmt.Errorf("the sandbox did not start (run `make tools`): %w", err)
	}
	b.rig = rig
	b.registry = rig.RegistryHost
	b.r.audit = auditLog{path: rig.AuditLog}
	b.r.rotatorKubeconfig, b.r.rotatorUser = rig.RotatorKubeconfig, "rotator"
	b.r.harborPassword = rig.HarborPassword
	b.r.profileDir = b.opts.profile
	var cfg config.Config
	config.Default(&cfg)
	b.defaults = cfg.Kubernetes
	return nil
}

// setUp starts the rig, the identities, a robot for the runbook and the floor, the rotator's
// config, and the first -n namespaces.
func (b *bench) setUp(ctx context.Context) error {
	if err := b.startRig(ctx); err != nil {
		return err
	}
	rig := b.rig
	var err error
	if b.r.runbook, err = newIdentity(ctx, rig.Admin, b.dir, rig.KubeURL, rig.CAFile(), "runbook"); err != nil {
		return err
	}
	if b.r.floor, err = newIdentity(ctx, rig.Admin, b.dir, rig.KubeURL, rig.CAFile(), "floor"); err != nil {
		return err
	}
	if err := b.manualRobot(ctx); err != nil {
		return err
	}
	if b.config, err = b.r.rotatorConfig("rotator.yaml", rig.HarborURL, rig.HarborUsername, 0, 0, 0, ""); err != nil {
		return err
	}
	if b.alwaysConfig, err = b.r.rotatorConfig("rotator-always.yaml", rig.HarborURL, rig.HarborUsername, 0, 0, 0, "Always"); err != nil {
		return err
	}
	if b.writeConfig, err = b.r.rotatorConfig("rotator-write.yaml", rig.HarborURL, rig.HarborUsername, 0, 0, writePhasePerMinute, "Always"); err != nil {
		return err
	}
	if q := b.opts.probeQPS; q > 0 {
		if b.probeConfig, err = b.r.rotatorConfig("rotator-probe.yaml", rig.HarborURL, rig.HarborUsername, q, 2*int(q), writePhasePerMinute, "Always"); err != nil {
			return err
		}
	}
	b.fx = &fixture{admin: rig.Admin, image: rig.Images["proj-a"], replicas: int32(b.opts.replicas), workers: 16} //nolint:gosec // G115: a flag of a handful of replicas
	logf("create %d namespaces, each with ServiceAccount %s and Deployments %s, %s (replicas %d)", b.opts.n, serviceAccount, depDirect, depViaSA, b.opts.replicas)
	if err := b.fx.ensure(ctx, nsNames(0, b.opts.n)); err != nil {
		return err
	}
	d, err := b.fx.quiesce(ctx)
	logf("controller manager caught up in %s", d.Round(time.Second))
	return err
}

// manualRobot issues the robot an operator would create by hand before running the runbook,
// and writes its .dockerconfigjson to a 0600 file for the runbook and the floor.
func (b *bench) manualRobot(ctx context.Context) error {
	p, err := harbor.New(harbor.Options{URL: b.rig.HarborURL, Username: b.rig.HarborUsername, Password: b.rig.HarborPassword})
	if err != nil {
		return err
	}
	c, err := p.Issue(ctx, providers.Spec{Credential: "manual", NamePrefix: "bench-manual-", Projects: []string{"proj-a"},
		Lifetime: 30 * 24 * time.Hour, Description: "rotator benchmark: the runbook's and the floor's credential"})
	if err != nil {
		return fmt.Errorf("issue the runbook's robot: %w", err)
	}
	data, err := pullsecret.Build(b.registry, c.Username, c.Password)
	if err != nil {
		return err
	}
	b.r.dockerConfig = filepath.Join(b.dir, "dockerconfig.json")
	return os.WriteFile(b.r.dockerConfig, data, 0o600)
}

// compare runs every method -rounds times over the first -n namespaces, alternating the order.
func (b *bench) compare(ctx context.Context) error {
	order := []string{methodRotatorWrite, methodFloor, methodRunbook, methodRotator}
	if b.opts.always {
		order = append(order, methodRotatorAlways)
	}
	if b.opts.alwaysFloor {
		order = append(order, methodFloorAlways)
	}
	nss := nsNames(0, b.opts.n)
	for round := 1; round <= b.opts.rounds; round++ {
		for i := range order {
			method := order[i]
			if round%2 == 0 {
				method = order[len(order)-1-i]
			}
			m, err := b.measureMethod(ctx, method, round, nss)
			if err != nil {
				return err
			}
			b.runs = append(b.runs, m)
			if method == methodRotatorWrite && len(b.noop) == 0 {
				// Everything is now in place: a run with nothing due.
				nm, _, err := b.r.rotate(ctx, methodNoop, b.config, "nothing-due", "--if-due")
				if err != nil {
					return err
				}
				nm.Namespaces = len(nss)
				logf("  %s: %s, requests %d (%s)", methodNoop, nm.Wall.Round(time.Millisecond), nm.Requests.Total, nm.Requests.detail())
				b.noop = append(b.noop, nm)
			}
		}
	}
	if b.opts.probeQPS > 0 {
		for _, method := range []string{b.probeMethod(methodRotatorWriteProbe), b.probeMethod(methodFloorProbe)} {
			m, err := b.measureMethod(ctx, method, b.opts.rounds+1, nss)
			if err != nil {
				return err
			}
			b.probe = append(b.probe, m)
		}
	}
	return nil
}

func (b *bench) probeMethod(format string) string { return fmt.Sprintf(format, b.opts.probeQPS) }

// measureMethod resets the namespaces, waits for the controller manager, runs one method and
// checks that it reached the end state.
func (b *bench) measureMethod(ctx context.Context, method string, round int, nss []string) (measurement, error) {
	if err := b.fx.reset(ctx, nss); err != nil {
		return measurement{}, err
	}
	if _, err := b.fx.quiesce(ctx); err != nil {
		return measurement{}, err
	}
	time.Sleep(3 * time.Second) // the controller manager's status writes trail its observation
	before, err := b.fx.templates(ctx)
	if err != nil {
		return measurement{}, err
	}
	targets := nss
	logf("round %d: %s over %d namespaces", round, method, len(nss))
	var (
		m       measurement
		wls     []workload
		restart = restartAll
	)
	switch method {
	case methodRotatorWrite:
		m, _, err = b.r.rotate(ctx, method, b.writeConfig, "succeeded", "--skip-rollout-wait")
	case methodRotator:
		m, wls, err = b.r.rotate(ctx, method, b.config, "succeeded")
		if err == nil {
			restart, err = b.ifNeeded(wls, nss)
		}
	case methodRotatorAlways:
		m, wls, err = b.r.rotate(ctx, method, b.alwaysConfig, "succeeded")
		if err == nil {
			err = reportAlways(wls, nss)
		}
	case methodFloor:
		m, err = b.r.runFloor(ctx, method, nss, fmt.Sprintf("round-%d-%d", round, time.Now().UnixNano()),
			float64(b.defaults.QPS), b.defaults.Burst, b.defaults.Concurrency)
	case methodFloorAlways:
		m, err = b.r.runFloor(ctx, method, nss, fmt.Sprintf("always-%d-%d", round, time.Now().UnixNano()),
			float64(b.defaults.QPS), b.defaults.Burst, b.defaults.Concurrency,
			"-restarts-per-minute", fmt.Sprint(b.defaults.RestartsPerMinute), "-wait")
	case b.probeMethod(methodRotatorWriteProbe):
		m, _, err = b.r.rotate(ctx, method, b.probeConfig, "succeeded", "--skip-rollout-wait")
	case b.probeMethod(methodFloorProbe):
		m, err = b.r.runFloor(ctx, method, nss, fmt.Sprintf("probe-%d", time.Now().UnixNano()),
			b.opts.probeQPS, 2*int(b.opts.probeQPS), b.defaults.Concurrency)
	case methodRunbook:
		targets = nss[:b.opts.runbookN]
		m, err = b.r.runRunbook(ctx, targets)
	}
	if err != nil {
		return m, err
	}
	m.Round = round
	if err := b.fx.checkEndState(ctx, targets, b.registry, before, restart); err != nil {
		return m, fmt.Errorf("%s: %w", method, err)
	}
	if len(targets) < len(nss) {
		m.MeasuredWall, m.Extrapolated = m.Wall, true
		m.Wall = time.Duration(float64(m.Wall) * float64(len(nss)) / float64(len(targets)))
		m.EndState = time.Duration(float64(m.EndState) * float64(len(nss)) / float64(len(targets)))
	}
	logf("  wall %s, end state at %s, requests %d (%d writes), peak RSS %.1f MiB",
		m.Wall.Round(time.Millisecond), m.EndState.Round(time.Millisecond), m.Requests.Total, m.Requests.Writes, mib(m.MaxRSSKiB))
	logf("  by verb and resource: %s", m.Requests.detail())
	return m, nil
}

// atScale grows the fixture to -rss-n namespaces and measures the rotator's peak RSS there, then
// a run with nothing due at that size.
func (b *bench) atScale(ctx context.Context) error {
	n := b.opts.rssN
	logf("grow to %d namespaces", n)
	if n > b.opts.n {
		if err := b.fx.ensure(ctx, nsNames(b.opts.n, n)); err != nil {
			return err
		}
	}
	nss := nsNames(0, n)
	method := methodRotator
	flags := []string{}
	if !b.opts.rssWait {
		method, flags = methodRotatorWrite, []string{"--skip-rollout-wait"}
	}
	if err := b.fx.reset(ctx, nss); err != nil {
		return err
	}
	d, err := b.fx.quiesce(ctx)
	if err != nil {
		return err
	}
	logf("controller manager caught up in %s", d.Round(time.Second))
	before, err := b.fx.templates(ctx)
	if err != nil {
		return err
	}
	logf("rotator at %d namespaces: %s", n, method)
	config := b.config
	if !b.opts.rssWait {
		config = b.writeConfig
	}
	m, wls, err := b.r.rotate(ctx, method, config, "succeeded", flags...)
	if err != nil {
		return err
	}
	restart := restartAll
	if config == b.config {
		if restart, err = b.ifNeeded(wls, nss); err != nil {
			return err
		}
	}
	if err := b.fx.checkEndState(ctx, nss, b.registry, before, restart); err != nil {
		return fmt.Errorf("at %d namespaces: %w", n, err)
	}
	logf("  wall %s, requests %d, peak RSS %.1f MiB", m.Wall.Round(time.Millisecond), m.Requests.Total, mib(m.MaxRSSKiB))
	b.scale = append(b.scale, m)
	nm, _, err := b.r.rotate(ctx, methodNoop, b.config, "nothing-due", "--if-due")
	if err != nil {
		return err
	}
	logf("  %s at %d: requests %d (%s), peak RSS %.1f MiB", methodNoop, n, nm.Requests.Total, nm.Requests.detail(), mib(nm.MaxRSSKiB))
	nm.Namespaces = n
	b.noop = append(b.noop, nm)
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// ifNeeded checks the report of a run under restart.policy IfNeeded against the fixture and
// returns which Deployments the end state must show restarted: those the report says it
// restarted. With 0 replicas no Deployment runs a pod that could lack the secret or fail to
// pull, so none may be restarted (reason no-pods); with pods, the report decides.
func (b *bench) ifNeeded(wls []workload, nss []string) (func(string) bool, error) {
	if len(wls) != 2*len(nss) {
		return nil, fmt.Errorf("%s: the report lists %d workloads, want %d (2 per namespace)", methodRotator, len(wls), 2*len(nss))
	}
	restarted := map[string]bool{}
	var wrong []string
	for _, w := range wls {
		if w.restarted() {
			restarted[w.Namespace+"/"+w.Name] = true
		}
		switch {
		case w.Reason == "":
			wrong = append(wrong, w.Namespace+"/"+w.Name+": no reason")
		case b.opts.replicas == 0 && (w.restarted() || w.Reason != "no-pods"):
			wrong = append(wrong, fmt.Sprintf("%s/%s: %s (%s), want unchanged (no-pods)", w.Namespace, w.Name, w.Action, w.Reason))
		}
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("%s: the report disagrees with the fixture in %d workloads: %v", methodRotator, len(wrong), firstFew(wrong))
	}
	return func(key string) bool { return restarted[key] }, nil
}

// reportAlways checks the report of a run under restart.policy Always: every workload
// restarted, for reason policy-always.
func reportAlways(wls []workload, nss []string) error {
	if len(wls) != 2*len(nss) {
		return fmt.Errorf("%s: the report lists %d workloads, want %d (2 per namespace)", methodRotatorAlways, len(wls), 2*len(nss))
	}
	var wrong []string
	for _, w := range wls {
		if !w.restarted() || w.Reason != "policy-always" {
			wrong = append(wrong, fmt.Sprintf("%s/%s: %s (%s)", w.Namespace, w.Name, w.Action, w.Reason))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%s: %d workloads not restarted for policy-always: %v", methodRotatorAlways, len(wrong), firstFew(wrong))
	}
	return nil
}

func firstFew(xs []string) []string {
	if len(xs) > 5 {
		return append(xs[:5:5], fmt.Sprintf("... and %d more", len(xs)-5))
	}
	return xs
}
