package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/rotation"
	"github.com/rotatorhq/rotator/providers"
)

// callKind sorts the fake calls of a run: which ones a crash or a lost lock may hit, and which
// ones change something.
type callKind int

const (
	kubeRead callKind = iota
	kubeWrite
	providerRead
	providerWrite
	registryCall
)

// counted: a crash or a lost lock happens at one of these calls (kube writes, provider calls,
// registry checks); kube reads are not worth a crash point of their own.
func (k callKind) counted() bool { return k != kubeRead }

func (k callKind) write() bool { return k == kubeWrite || k == providerWrite }

// errDead is what every call of a crashed run returns: the process is gone.
var errDead = errors.New("sim: the process died (injected crash)")

// runOp is what a run does: Rotate of one credential, or RotateAll of several.
type runOp struct {
	creds         []string
	ifDue, dryRun bool
}

func (op runOp) String() string {
	s := "Rotate(" + op.creds[0] + ")"
	if len(op.creds) > 1 {
		s = "RotateAll(" + strings.Join(op.creds, ",") + ")"
	}
	if op.ifDue {
		s += " --if-due"
	}
	if op.dryRun {
		s += " --dry-run"
	}
	return s
}

// run is one invocation of the core by one process of one cluster.
type run struct {
	w       *World
	id      int
	cluster *Cluster
	op      runOp
	nested  bool

	// crashAt is the counted call at which the process dies (0: it does not); with crashAfter
	// the call takes effect first (the process dies before it sees the answer).
	crashAt    int
	crashAfter bool
	// partitionFrom is the call from which the cluster's partition cuts this run off.
	partitionFrom int
	// loseAt is the counted call at which the run lock is lost (0: never); with nestOnLoss the
	// other replica of the cluster then runs a whole rotation before this run goes on.
	loseAt     int
	nestOnLoss bool

	calls     int
	dead      bool
	crashedAt string
	lost      bool
	holdsLock bool
	cancels   []context.CancelFunc

	writesAfterLoss, dryRunWrites int
}

// gate is the single door of every fake call of the run. fn performs the call and reports
// whether it took effect (a provider call that "timed out but was done" took effect and still
// returns an error).
func (r *run) gate(ctx context.Context, kind callKind, what string, fn func() (effect bool, err error)) error {
	w := r.w
	if r.dead {
		return errDead
	}
	if kind.counted() {
		r.calls++
		n := r.calls
		if n == r.crashAt {
			r.crashedAt = fmt.Sprintf("call %d (%s)", n, what)
			switch {
			case r.crashAfter && kind.write() && ctx.Err() == nil:
				// The call reaches the server; the process dies before it reads the answer.
				effect, err := fn()
				if effect {
					r.wrote(what)
					w.callf(r, kind, "%s → took effect, then the process died", what)
				} else {
					w.callf(r, kind, "%s → failed (%v), then the process died", what, err)
				}
			default:
				w.callf(r, kind, "%s → the process died before it", what)
			}
			r.dead = true
			return errDead
		}
		if n == r.loseAt {
			r.loseLock(what)
		}
	}
	if err := ctx.Err(); err != nil {
		w.callf(r, kind, "%s → refused: %v", what, err)
		return err
	}
	effect, err := fn()
	if effect && kind.write() {
		r.wrote(what)
	}
	if w.verbose {
		res := "ok"
		if err != nil {
			res = "error: " + err.Error()
		}
		w.callf(r, kind, "%s → %s", what, res)
	}
	return err
}

// wrote checks a write that took effect against the invariants about who may write. Each is
// reported once per run, at its first offending write; the others are counted.
func (r *run) wrote(what string) {
	if r.lost && !r.cleansOwn(what) {
		if r.writesAfterLoss++; r.writesAfterLoss == 1 {
			r.w.violate(invNoWriteAfterLockLost(r, what))
		}
	}
	if r.op.dryRun {
		if r.dryRunWrites++; r.dryRunWrites == 1 {
			r.w.violate(invDryRunWritesNothing(r, what))
		}
	}
}

// cleansOwn reports whether a write after the loss of the lock is the one the lock need not
// exclude: the revocation of a credential this very run issued and never recorded in the
// state. No other process can hold it (its password never left this one).
func (r *run) cleansOwn(what string) bool {
	id, ok := strings.CutPrefix(what[strings.LastIndex(what, " ")+1:], "id=")
	if !ok || !strings.HasPrefix(what, "provider revoke ") {
		return false
	}
	b := r.w.provider.robot(id)
	if b == nil || b.IssuerRun != r.id {
		return false
	}
	st, err := r.cluster.loadState(b.Credential)
	return err == nil && !st.Known(id)
}

// lock is the run's Runner.Lock: exclusive per cluster, and lost on the schedule's say-so.
func (r *run) lock(ctx context.Context) (context.Context, func(), error) {
	if r.dead {
		return nil, nil, errDead
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c := r.cluster
	if h := c.lockHolder; h != nil && h != r {
		return nil, nil, fmt.Errorf("sim: the run lock is held by run %d", h.id)
	}
	held, cancel := context.WithCancel(ctx)
	c.lockHolder, r.holdsLock = r, true
	r.cancels = append(r.cancels, cancel)
	r.w.callf(r, kubeRead, "lock taken")
	released := false
	return held, func() {
		if released {
			return
		}
		released = true
		if c.lockHolder == r {
			c.lockHolder, r.holdsLock = nil, false
		}
		cancel()
	}, nil
}

// loseLock: the lease was taken over (a lost leader election, a skewed clock). The held
// context is cancelled; from now on any write of this run that takes effect is a violation.
func (r *run) loseLock(at string) {
	if !r.holdsLock {
		return
	}
	r.lost, r.holdsLock = true, false
	r.cluster.lockHolder = nil
	for _, cancel := range r.cancels {
		cancel()
	}
	r.w.callf(r, kubeRead, "LOCK LOST before %s", at)
	r.w.logf("  run %d lost its lock before %s", r.id, at)
	if r.nestOnLoss {
		r.w.logf("  the other replica of cluster %s runs meanwhile", r.cluster.Name)
		r.w.execRun(r.cluster, r.op, true, false)
	}
}

// setLock sets Runner.Lock whichever of its two signatures the core has: today's
// func(ctx) (release, err), or the new func(ctx) (held ctx, release, err), whose held ctx is
// cancelled when the lock is lost.
func setLock(rr *rotation.Runner, r *run) {
	f := reflect.ValueOf(rr).Elem().FieldByName("Lock")
	held := func(ctx context.Context) (context.Context, func(), error) { return r.lock(ctx) }
	old := func(ctx context.Context) (func(), error) {
		_, release, err := r.lock(ctx)
		return release, err
	}
	for _, fn := range []any{held, old} {
		if v := reflect.ValueOf(fn); v.Type().ConvertibleTo(f.Type()) {
			f.Set(v.Convert(f.Type()))
			return
		}
	}
	panic("sim: Runner.Lock has a signature the simulation does not know: " + f.Type().String())
}

// runner builds the Runner of one run: the real core, with this run's fakes.
func (w *World) runner(r *run) *rotation.Runner {
	rr := &rotation.Runner{
		Config:    w.cfg,
		Kube:      &kube{Interface: r.cluster.cs, cs: r.cluster.cs, r: r},
		Providers: map[string]providers.Provider{},
		Checkers:  map[string]rotation.RegistryChecker{},
		Clock:     r.cluster.clock,
		Logger:    slog.New(slog.DiscardHandler),
	}
	for _, s := range credSpecs {
		rr.Providers[s.name] = providerView{r: r}
		rr.Checkers[s.name] = checkerView{r: r}
	}
	setLock(rr, r)
	setEntropy(rr, w.ids)
	return rr
}

// setEntropy gives the core the seed's random source for the random part of credential names,
// when it has a Runner.Entropy (today's core lets the provider name credentials).
func setEntropy(rr *rotation.Runner, src *rand.Rand) {
	f := reflect.ValueOf(rr).Elem().FieldByName("Entropy")
	if !f.IsValid() {
		return
	}
	var reader io.Reader = entropy{src}
	if v := reflect.ValueOf(&reader).Elem(); v.Type().AssignableTo(f.Type()) {
		f.Set(v)
	}
}

// entropy is an io.Reader of seeded pseudo-random bytes.
type entropy struct{ src *rand.Rand }

func (e entropy) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e.src.Uint32())
	}
	return len(p), nil
}

// execRun runs the core once on cluster c, to completion, crash or panic. With chaos the
// schedule may crash the run or take its lock away.
func (w *World) execRun(c *Cluster, op runOp, nested, chaos bool) *run {
	w.runSeq++
	r := &run{w: w, id: w.runSeq, cluster: c, op: op, nested: nested}
	if p := &c.partition; p.runs > 0 && !nested {
		r.partitionFrom, p.from = p.from, 0 // mid-way in the first run, from the start after
	}
	if chaos && !nested && !w.quiet {
		switch x := w.sched.Float64(); {
		case x < 0.22:
			r.crashAt = 1 + w.sched.IntN(w.callEstimate(op)+1)
			r.crashAfter = w.sched.IntN(2) == 0
		case x < 0.34:
			r.loseAt = 1 + w.sched.IntN(w.callEstimate(op)+1)
			r.nestOnLoss = w.sched.IntN(2) == 0
		}
	}
	desc := fmt.Sprintf("run %d: cluster %s %s", r.id, c.Name, op)
	if c.partition.runs > 0 && !nested {
		desc += fmt.Sprintf(" [partitioned from call %d]", r.partitionFrom)
	}
	if nested {
		desc = "  nested " + desc
	}
	switch {
	case r.crashAt > 0:
		desc += fmt.Sprintf(" [crash at call %d", r.crashAt)
		if r.crashAfter {
			desc += ", after its effect"
		}
		desc += "]"
	case r.loseAt > 0:
		desc += fmt.Sprintf(" [lock lost at call %d", r.loseAt)
		if r.nestOnLoss {
			desc += ", other replica runs"
		}
		desc += "]"
	}
	w.logf("%s", desc)

	w.stack = append(w.stack, r)
	reports := w.invoke(r, op)
	w.stack = w.stack[:len(w.stack)-1]
	c.cs.ClearActions()    // the fake keeps a deep copy of every action; nothing here reads them
	if c.lockHolder == r { // a dead process's lease expires before the next step
		c.lockHolder = nil
	}
	for _, cancel := range r.cancels {
		cancel()
	}
	if !r.dead && !r.lost {
		w.noteCalls(op, r.calls)
	}
	if w.verbose && !nested {
		for _, s := range credSpecs {
			w.logf("  state of %s in %s: %s", s.name, c.Name, c.stateSummary(s.name))
		}
	}
	if r.writesAfterLoss > 0 {
		w.logf("  %d writes took effect after the lock was lost", r.writesAfterLoss)
	}
	if r.dryRunWrites > 0 {
		w.logf("  the dry run wrote %d times", r.dryRunWrites)
	}
	switch {
	case r.dead:
		w.logf("  crashed at %s; report discarded", r.crashedAt)
	default:
		for _, rep := range reports {
			line := fmt.Sprintf("  %s: %s", rep.Credential, rep.Result)
			if len(rep.Errors) > 0 {
				line += fmt.Sprintf(" (%d errors; first: %s)", len(rep.Errors), clip(rep.Errors[0], 160))
			}
			w.logf("%s", line)
			if w.verbose { // the replay shows the whole report
				w.logf("    decision: %s", rep.Decision)
				for _, m := range rep.Warnings {
					w.logf("    warning: %s", m)
				}
				for _, m := range rep.Errors {
					w.logf("    error: %s", m)
				}
			}
		}
	}
	return r
}

// invoke calls the core; a panic is a violation, not the end of the simulation.
func (w *World) invoke(r *run, op runOp) (reports []*rotation.Report) {
	defer func() {
		if p := recover(); p != nil {
			r.dead = true
			r.crashedAt = "a panic"
			w.violate(Violation{Invariant: "CorePanics", Detail: fmt.Sprintf("run %d panicked: %v\n%s", r.id, p, debug.Stack())})
		}
	}()
	rr := w.runner(r)
	opts := rotation.Options{IfDue: op.ifDue, DryRun: op.dryRun, SkipRolloutWait: true}
	ctx := context.Background()
	if len(op.creds) == 1 {
		return []*rotation.Report{rr.Rotate(ctx, credential(w.cfg, op.creds[0]), opts)}
	}
	var creds []*config.Credential
	for _, n := range op.creds {
		creds = append(creds, credential(w.cfg, n))
	}
	return rr.RotateAll(ctx, creds, opts)
}

// callEstimate is the number of counted calls a run of op made last time (a crash point is
// drawn below it, so that crashes land anywhere in a run rather than mostly after its end).
func (w *World) callEstimate(op runOp) int {
	if n := w.calls[op.key()]; n > 0 {
		return n
	}
	return 24
}

func (w *World) noteCalls(op runOp, n int) {
	if n > 0 {
		w.calls[op.key()] = n
	}
}

func (op runOp) key() string { return fmt.Sprint(op.creds, op.ifDue) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
