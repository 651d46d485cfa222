package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rotatorhq/rotator/internal/config"
)

// World is one seed's universe.
type World struct {
	Seed uint64
	// sched draws the schedule (steps and their parameters), chaos the per-call faults, ids the
	// provider's names and passwords: three streams, so a change in how many calls the core makes
	// does not shift the schedule.
	sched, chaos, ids *rand.Rand
	clock             *clocktesting.FakeClock // the provider's and registry's time
	cfg               *config.Config
	provider          *Provider
	registry          *Registry
	clusters          []*Cluster

	step   int
	stack  []*run // runs in progress (a nested run sits on top of the one that lost its lock)
	runSeq int
	calls  map[string]int
	faults struct {
		providerRate, registryRate float64
		providerRuns, registryRuns int // how many more top-level runs see them
	}
	quiet bool

	verbose    bool
	trace      []string
	violations []Violation
}

// Result of one seed.
type Result struct {
	Seed       uint64
	Steps      int
	Runs       int
	Violations []Violation
	// Trace is the step-level trace (with Options.Verbose, every fake call too).
	Trace []string
}

// Options of a simulation.
type Options struct {
	// Verbose traces every fake call, not just the steps.
	Verbose bool
}

var start = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// Simulate runs one seed: the random schedule, then the quiet phase.
func Simulate(seed uint64, o Options) Result {
	w, err := newWorld(seed, o)
	if err != nil {
		return Result{Seed: seed, Violations: []Violation{{Invariant: "Setup", Detail: err.Error()}}}
	}
	w.schedule()
	w.quietPhase()
	return Result{Seed: seed, Steps: w.step, Runs: w.runSeq, Violations: w.violations, Trace: w.trace}
}

func newWorld(seed uint64, o Options) (*World, error) {
	cfg, err := simConfig()
	if err != nil {
		return nil, err
	}
	w := &World{
		Seed:    seed,
		sched:   rand.New(rand.NewPCG(seed, 1)),
		chaos:   rand.New(rand.NewPCG(seed, 2)),
		ids:     rand.New(rand.NewPCG(seed, 3)),
		clock:   clocktesting.NewFakeClock(start),
		cfg:     cfg,
		calls:   map[string]int{},
		verbose: o.Verbose,
	}
	w.provider = &Provider{w: w}
	w.registry = &Registry{w: w, tags: map[string]bool{"app/web:1": true, "tools/cli:1": true}}
	for _, name := range []string{"A", "B"} {
		uid := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", w.ids.Uint32(), w.ids.Uint32()&0xffff,
			w.ids.Uint32()&0xfff, w.ids.Uint32()&0xfff, w.ids.Uint64()&0xffffffffffff)
		w.clusters = append(w.clusters, newCluster(w, name, uid))
	}
	return w, nil
}

// active is the run whose calls are being made now, or nil between runs.
func (w *World) active() *run {
	if len(w.stack) == 0 {
		return nil
	}
	return w.stack[len(w.stack)-1]
}

func (w *World) logf(format string, args ...any) {
	w.trace = append(w.trace, fmt.Sprintf("step %2d: ", w.step)+fmt.Sprintf(format, args...))
}

// callf traces one fake call; only in verbose mode, the trace of a replay. A counted call (a
// possible crash point) shows its number.
func (w *World) callf(r *run, kind callKind, format string, args ...any) {
	if w.verbose {
		n := "   "
		if kind.counted() {
			n = fmt.Sprintf("#%-2d", r.calls)
		}
		w.trace = append(w.trace, fmt.Sprintf("           [%s run %d %s] ", r.cluster.Name, r.id, n)+fmt.Sprintf(format, args...))
	}
}

func (w *World) violate(vs ...Violation) {
	for _, v := range vs {
		v.Step = w.step
		w.violations = append(w.violations, v)
		w.logf("VIOLATION %s: %s", v.Invariant, firstLine(v.Detail))
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// schedule runs the random part: 20 to 40 steps after both clusters' first run.
func (w *World) schedule() {
	w.nextStep()
	w.runStep(w.clusters[0], runOp{creds: []string{"main", "extra"}}, false)
	w.nextStep()
	w.runStep(w.clusters[1], runOp{creds: []string{"main", "extra"}}, false)
	for n := 20 + w.sched.IntN(21); n > 0; n-- {
		w.nextStep()
		switch x := w.sched.Float64(); {
		case x < 0.40:
			c := w.clusters[0]
			if w.sched.Float64() < 0.3 {
				c = w.clusters[1]
			}
			w.runStep(c, w.randomOp(), true)
		case x < 0.57:
			w.tenantStep()
		case x < 0.72:
			w.faultStep()
		default:
			w.clockStep()
		}
	}
}

func (w *World) nextStep() { w.step++ }

func (w *World) randomOp() runOp {
	op := runOp{}
	switch x := w.sched.Float64(); {
	case x < 0.35:
		op.creds = []string{"main", "extra"}
	case x < 0.75:
		op.creds = []string{"main"}
	default:
		op.creds = []string{"extra"}
	}
	op.ifDue = w.sched.Float64() < 0.55
	op.dryRun = w.sched.Float64() < 0.05
	return op
}

// runStep runs the core once on c and checks the invariants of a run.
func (w *World) runStep(c *Cluster, op runOp, chaos bool) {
	before := c.snapshot()
	r := w.execRun(c, op, false, chaos)
	w.violate(invNoTargetLosesPull(c, before, r)...)
	if c.partition.runs > 0 {
		c.partition.runs--
	}
	if w.faults.providerRuns > 0 {
		w.faults.providerRuns--
	}
	if w.faults.registryRuns > 0 {
		w.faults.registryRuns--
	}
}

// quietPhase: faults and tenants stop; each cluster's rotator runs (all credentials) at most
// twice, and then every target must pull (invariant 5) and nothing may leak (invariant 4).
func (w *World) quietPhase() {
	w.quiet = true
	w.faults.providerRuns, w.faults.registryRuns = 0, 0
	for _, c := range w.clusters {
		c.partition.runs = 0
	}
	w.nextStep()
	w.logf("quiet phase: faults and tenants stop")
	ifDue := w.sched.IntN(2) == 0
	for round := 1; round <= 2; round++ {
		w.nextStep()
		for _, c := range w.clusters {
			w.runStep(c, runOp{creds: []string{"main", "extra"}, ifDue: ifDue}, false)
		}
		if vs := invConverged(w, round); len(vs) == 0 {
			break
		} else if round == 2 {
			w.violate(vs...)
		}
	}
	w.violate(invNoLeakAtQuiescence(w)...)
}

// clockStep moves time forward (minutes, hours or days: grace periods end, renewals fall due,
// credentials expire), sometimes changing cluster B's skew.
func (w *World) clockStep() {
	var d time.Duration
	switch x := w.sched.Float64(); {
	case x < 0.4:
		d = time.Duration(1+w.sched.IntN(59)) * time.Minute
	case x < 0.8:
		d = time.Duration(1+w.sched.IntN(23)) * time.Hour
	default:
		d = time.Duration(1+w.sched.IntN(4))*24*time.Hour + time.Duration(w.sched.IntN(24))*time.Hour
	}
	w.clock.Step(d)
	b := w.clusters[1]
	msg := ""
	if w.sched.Float64() < 0.25 {
		b.skew = time.Duration(w.sched.IntN(361)-180) * time.Second
		msg = fmt.Sprintf("; cluster B's clock now off by %v", b.skew)
	}
	for _, c := range w.clusters {
		c.clock.SetTime(w.clock.Now().Add(c.skew))
	}
	w.logf("clock +%v → %s%s", d, w.clock.Now().Format(time.RFC3339), msg)
}
