// Command rotatorbench measures a rotation across many namespaces on the real sandbox (etcd,
// kube-apiserver, kube-controller-manager, registry, Harbor double) from the same starting point
// — no pull Secret, ServiceAccount default unbound — to the end state: the pull Secret written in
// every namespace, ServiceAccount default bound to it, and the Deployments' templates changed
// exactly where a restart is due. It writes bench/RESULTS.md:
//
//   - the rotator: the built `rotator rotate now` as shipped (every default, restart.policy
//     IfNeeded, end to end: in this fixture it restarts nothing), with restart.policy Always end
//     to end (paced template patches, rollouts awaited by watch), and its write phase alone
//     (Always, --skip-rollout-wait, the restart pace at its maximum);
//   - the runbook: the kubectl loop of runbook.sh;
//   - the floor: bench/cmd/floor, only the writes, at the rotator's default rate limit and
//     concurrency, and the floor of Always (patches at kubernetes.restartsPerMinute, rollouts by
//     watch).
//
// Requests are counted at the API server (its audit log, by identity), peak memory is each
// child process's max RSS. It also measures a rotator run with nothing due, and the rotator's
// peak RSS at -rss-n namespaces. Run it with `make bench`; it is not a test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	n, rssN, runbookN, rounds int
	replicas                  int
	out                       string
	keep                      bool
	rssWait                   bool
	rotator                   string
	render                    bool
	probeQPS                  float64
	profile                   string
	alwaysFloor               bool
	always                    bool
	// scenario is "compare" (rotate now against the runbook and the floor) or "service" (rotator
	// run: reaction, idle requests, RSS at scale; service.go).
	scenario string
	service  serviceOptions
	fleet    fleetOptions
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 300, "namespaces for the comparison")
	flag.IntVar(&o.rssN, "rss-n", 2000, "namespaces for the rotator's peak-RSS run (0: skip it)")
	flag.IntVar(&o.runbookN, "runbook-n", 0, "time the runbook on this many of the namespaces and extrapolate to -n (0: all of them)")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of the comparison; the order of the methods alternates between rounds")
	flag.IntVar(&o.replicas, "replicas", 0, "replicas of each Deployment (0: a template change still makes a new ReplicaSet, without pods to pull)")
	flag.BoolVar(&o.rssWait, "rss-wait", true, "the peak-RSS run waits for rollouts as the rotator does by default (false: --skip-rollout-wait)")
	flag.BoolVar(&o.alwaysFloor, "always-floor", true, "also time the floor of restart.policy Always: templates patched at kubernetes.restartsPerMinute, rollouts awaited by watch (at the default 60 a minute, 200 Deployments take over 3 minutes)")
	flag.BoolVar(&o.always, "always", true, "also time rotate now with restart.policy Always, end to end (every template patched at kubernetes.restartsPerMinute, rollouts awaited by watch)")
	flag.StringVar(&o.out, "out", "bench/RESULTS.md", "where to write the results")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (rig logs, audit log)")
	flag.Float64Var(&o.probeQPS, "probe-qps", 0, "also time the rotator's write phase and the floor once at this client rate limit (burst twice it); 0: skip")
	flag.StringVar(&o.profile, "profile", "", "write the CPU, blocking and peak-heap profiles of every rotator run (and service) under this directory (go tool pprof); timings then include the profiling")
	flag.StringVar(&o.rotator, "rotator", "", "a rotator binary to measure (default: build ./cmd/rotator), e.g. an older build to compare")
	flag.BoolVar(&o.render, "render", false, "only render -out again from the record saved beside it (RESULTS.json), without running anything")
	flag.StringVar(&o.scenario, "scenario", "compare", "compare: rotate now against the runbook and the floor (RESULTS.md); service: rotator run's reaction to new namespaces, its requests when idle and its peak RSS at scale (RESULTS-service.md); fleet: rotate now across clusters, one member down (RESULTS-fleet.md)")
	flag.IntVar(&o.service.n, "service-n", 2000, "service: target namespaces present when the service starts")
	flag.IntVar(&o.service.burst, "service-new", 50, "service: namespaces created at once, each timed to a pullable secret")
	flag.DurationVar(&o.service.idle, "service-idle", 10*time.Minute, "service: the idle window whose API requests are counted")
	flag.DurationVar(&o.service.settle, "service-settle", 0, "service: the least wait between the burst and the idle window (it is always at least 10 s past the end of the controller's follow-up pod checks, 133 s after the last repair)")
	flag.IntVar(&o.service.rssN, "service-rss-n", 10000, "service: grow to this many namespaces with the service running, for its peak RSS (0 or at most -service-n + -service-new: skip)")
	flag.BoolVar(&o.service.rotateAtScale, "service-rotate-at-scale", true, "service: then start a fresh service at -service-rss-n with the state deleted (it issues and writes a credential everywhere) and take its peak RSS too")
	freshRotators := flag.String("service-fresh-rotators", "", "service: comma-separated rotator binaries whose fresh run at -service-rss-n is measured too, after the built one's, on the same fixture (the state deleted before each): compares builds under the same load")
	flag.DurationVar(&o.service.reconcile, "service-reconcile", time.Hour, "service: rotator run --reconcile (the liveness check at the provider), longer than the idle window")
	flag.Float64Var(&o.service.qps, "service-fixture-qps", 1000, "service: the fixture builder's client rate limit (burst twice it)")
	flag.IntVar(&o.service.workers, "service-fixture-workers", 48, "service: the fixture builder's namespaces in flight")
	flag.DurationVar(&o.service.timeout, "service-timeout", 45*time.Minute, "service: the longest wait for the service to serve every namespace (the burst's namespaces: recorded as not served after it)")
	flag.IntVar(&o.fleet.clusters, "fleet-clusters", 4, "fleet: clusters in all, the rotator's own and the members (one of which is cut off)")
	flag.IntVar(&o.fleet.n, "fleet-n", 100, "fleet: target namespaces in each cluster")
	flag.StringVar(&o.fleet.down, "fleet-down", downRefuse, "fleet: how the member is cut off: refuse (connections refused) or blackhole (accepted, never answered), both before the run; or freeze (in the middle of the run, at its first Secret write there: open connections carry nothing more, new ones are never answered)")
	flag.DurationVar(&o.fleet.revokeAfter, "fleet-revoke-after", 2*time.Second, "fleet: the credential's revokeAfter (the grace period the revoke phase waits out)")
	flag.DurationVar(&o.fleet.timeout, "fleet-timeout", 10*time.Minute, "fleet: the longest one rotate now may take")
	flag.BoolVar(&o.fleet.recover, "fleet-recover", true, "fleet: open the gate again at the end and run rotate now --if-due")
	flag.IntVar(&o.fleet.rounds, "fleet-rounds", 3, "fleet: rounds of an all-up rotation followed by one with the member down (medians compared)")
	flag.Float64Var(&o.fleet.qps, "fleet-fixture-qps", 500, "fleet: the fixture builder's client rate limit in each cluster (burst twice it)")
	flag.Parse()
	if strings.TrimSpace(o.scenario) == "fleet" {
		o.scenario = "fleet"
		if o.fleet.down != downRefuse && o.fleet.down != downBlackhole && o.fleet.down != downFreeze {
			fmt.Fprintf(os.Stderr, "rotatorbench: -fleet-down %q: want %s, %s or %s\n", o.fleet.down, downRefuse, downBlackhole, downFreeze)
			os.Exit(2)
		}
	} else {
		scenario, err := parseScenario(o.scenario)
		if err != nil {
			fmt.Fprintf(os.Stderr, "rotatorbench: %v (or fleet)\n", err)
			os.Exit(2)
		}
		o.scenario = scenario
	}
	var err error
	if o.service.freshRotators, err = binaries(*freshRotators); err != nil {
		fmt.Fprintln(os.Stderr, "rotatorbench:", err)
		os.Exit(2)
	}
	outSet := false
	flag.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if o.scenario == "service" && !outSet {
		o.out = "bench/RESULTS-service.md"
	}
	if o.scenario == "fleet" && !outSet {
		o.out = "bench/RESULTS-fleet.md"
	}
	if o.profile != "" {
		abs, err := filepath.Abs(o.profile) // the rotator runs in another directory
		if err != nil {
			fmt.Fprintln(os.Stderr, "rotatorbench:", err)
			os.Exit(2)
		}
		o.profile = abs
	}
	if o.runbookN <= 0 || o.runbookN > o.n {
		o.runbookN = o.n
	}
	if o.render {
		re := rerender
		switch o.scenario {
		case "service":
			re = rerenderService
		case "fleet":
			re = rerenderFleet
		}
		if err := re(o.out); err != nil {
			fmt.Fprintln(os.Stderr, "rotatorbench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "rotatorbench:", err)
		os.Exit(1)
	}
}

// binaries splits a comma-separated list of binaries into absolute paths (the services run in
// another directory), skipping empty entries.
func binaries(list string) ([]string, error) {
	var out []string
	for _, bin := range strings.Split(list, ",") {
		if bin = strings.TrimSpace(bin); bin == "" {
			continue
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "rotatorbench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work directory %s (kept)", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{opts: o, dir: dir, machine: describeMachine(), started: time.Now()}
	b.r.dir = dir
	b.r.rotatorBin = filepath.Join(dir, "rotator")
	b.r.floorBin = filepath.Join(dir, "floor")
	b.r.spawn = spawner{wrap: filepath.Join(dir, "rsswrap"), dir: dir}
	builds := map[string]string{b.r.spawn.wrap: "./bench/cmd/rsswrap"}
	if o.scenario == "compare" {
		builds[b.r.floorBin] = "./bench/cmd/floor"
	}
	if o.rotator != "" {
		b.r.rotatorBin = o.rotator
	} else {
		builds[b.r.rotatorBin] = "./cmd/rotator"
	}
	for bin, pkg := range builds {
		logf("build %s", pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	switch o.scenario {
	case "service":
		return b.service(ctx)
	case "fleet":
		return b.fleet(ctx)
	}
	if err := b.setUp(ctx); err != nil {
		return err
	}
	defer b.rig.Stop() //nolint:contextcheck // stopping must not depend on ctx, which may be done by then
	if err := b.compare(ctx); err != nil {
		return err
	}
	if o.rssN > 0 {
		if err := b.atScale(ctx); err != nil {
			return err
		}
	}
	if err := save(b.record(), o.out); err != nil {
		return err
	}
	logf("wrote %s", o.out)
	return nil
}
