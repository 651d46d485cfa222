// Package bindguard stops the rotator from fighting a GitOps tool over a ServiceAccount's
// imagePullSecrets. The API declares that list atomic (+listType=atomic): server-side apply
// cannot give one entry to the rotator and the rest to Argo CD, Flux or Helm, so whoever applies
// the list owns all of it. A tool that syncs the ServiceAccount from a manifest without the
// rotator's entry removes it again each time the rotator adds it, forever. The Guard notices:
// after Threshold removals by someone else within Window it tells the caller to stop re-adding
// the entry to that ServiceAccount, until the entry comes back by another hand (the owner put it
// in the manifest), the ServiceAccount is recreated, or GiveUpFor has passed. docs/gitops.md
// says how to configure the tools instead.
package bindguard

import (
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// Defaults of a Guard.
const (
	DefaultThreshold = 3
	DefaultWindow    = 10 * time.Minute
	// DefaultGiveUpFor: a fixed tool (ignoreDifferences added) gets the entry back within the
	// hour, and a still-fighting one costs one write an hour.
	DefaultGiveUpFor = time.Hour
)

// Key is one binding: the entry Secret in ServiceAccount Namespace/ServiceAccount.
type Key struct {
	Namespace, ServiceAccount, Secret string
}

// Verdict is what the caller does about a ServiceAccount that lacks the entry.
type Verdict int

const (
	// Bind: add the entry.
	Bind Verdict = iota
	// GiveUp: the entry was removed once too often; do not add it, report the conflict now
	// (returned once per give-up).
	GiveUp
	// GivenUp: the conflict is reported already; do not add the entry, say nothing new.
	GivenUp
)

// Decision is the Guard's answer for one ServiceAccount lacking the entry.
type Decision struct {
	Verdict Verdict
	// Removals is how many removals within the window the Guard counted.
	Removals int
	// Manager is who removed it, from the ServiceAccount's managedFields ("" when unknown).
	Manager string
	// Until is when a given-up binding is tried again.
	Until time.Time
	// Window is the window the removals were counted in.
	Window time.Duration
}

// Guard remembers, per binding, whether the rotator added the entry and how often it
// disappeared since. It is in memory: a restart of the rotator forgets it, which costs at most
// Threshold more writes. A nil *Guard always says Bind. Safe for concurrent use.
type Guard struct {
	Clock     clock.PassiveClock
	Threshold int
	Window    time.Duration
	GiveUpFor time.Duration
	// Self is the rotator's field manager, never named as the other party (default
	// fieldmanager.Name).
	Self string

	mu sync.Mutex
	m  map[Key]*record
}

type record struct {
	uid types.UID
	// added: the rotator added the entry (or saw it present) and has not seen it gone since.
	added bool
	// addedFrom is the resourceVersion the rotator's patch was made against: a view of that
	// version or an older one lags behind the patch, and its missing entry is no removal.
	addedFrom string
	removals  []time.Time
	until     time.Time // zero: not given up
}

func (g *Guard) now() time.Time {
	if g.Clock == nil {
		return time.Now()
	}
	return g.Clock.Now()
}

func (g *Guard) get(k Key, uid types.UID) *record {
	if g.m == nil {
		g.m = map[Key]*record{}
	}
	r := g.m[k]
	if r == nil || r.uid != uid {
		// A new ServiceAccount of that name starts with a clean slate.
		r = &record{uid: uid}
		g.m[k] = r
	}
	return r
}

// Present records that sa holds the entry. It reports whether that ended a given-up binding:
// the rotator added nothing since, so someone else put the entry back (the owner's manifest now
// has it) and there is no fight any more.
func (g *Guard) Present(k Key, sa *corev1.ServiceAccount) (resolved bool) {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.get(k, sa.UID)
	r.added, r.addedFrom = true, ""
	if r.until.IsZero() {
		// Most often the rotator's own entry, seen back through the cache: the removals counted
		// stay, and age out of the window.
		return false
	}
	// Given up, the rotator added nothing: someone else did.
	r.removals, r.until = nil, time.Time{}
	return true
}

// Check decides about sa, which lacks the entry.
func (g *Guard) Check(k Key, sa *corev1.ServiceAccount) Decision {
	if g == nil {
		return Decision{Verdict: Bind}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	r := g.get(k, sa.UID)
	if !r.until.IsZero() {
		if now.Before(r.until) {
			return Decision{Verdict: GivenUp, Removals: len(r.removals), Manager: g.Remover(sa), Until: r.until, Window: g.window()}
		}
		// On probation: one more removal gives up again at once, so a tool still fighting costs
		// one write per GiveUpFor, not Threshold.
		r.until = time.Time{}
		r.removals = r.removals[len(r.removals)-min(len(r.removals), g.threshold()-1):]
		for i := range r.removals {
			r.removals[i] = now
		}
	}
	if r.added && newer(sa.ResourceVersion, r.addedFrom) {
		r.added = false
		r.removals = append(r.removals, now)
	}
	r.removals = pruneBefore(r.removals, now.Add(-g.window()))
	if len(r.removals) >= g.threshold() {
		r.until = now.Add(g.giveUpFor())
		return Decision{Verdict: GiveUp, Removals: len(r.removals), Manager: g.Remover(sa), Until: r.until, Window: g.window()}
	}
	return Decision{Verdict: Bind, Removals: len(r.removals)}
}

// Added records that the rotator's patch, made against version from of sa, added the entry
// (or found it there).
func (g *Guard) Added(k Key, sa *corev1.ServiceAccount, from string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.get(k, sa.UID)
	r.added, r.addedFrom = true, from
}

// GivenUp is how many bindings are given up now, by the namespace-less key's Secret: the gauge.
func (g *Guard) GivenUp() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now, n := g.now(), 0
	for _, r := range g.m {
		if !r.until.IsZero() && now.Before(r.until) {
			n++
		}
	}
	return n
}

// Forget drops what the Guard knows of the bindings of a ServiceAccount that is gone.
func (g *Guard) Forget(k Key) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m, k)
}

// newer: version rv of the object comes after version than. An etcd-backed API server's
// resource versions are integers that grow: a cache lagging behind the version the rotator
// patched must not count as a removal. A version that is not an integer is compared for
// difference only.
func newer(rv, than string) bool {
	a, errA := strconv.ParseUint(rv, 10, 64)
	b, errB := strconv.ParseUint(than, 10, 64)
	if errA != nil || errB != nil {
		return rv != than
	}
	return a > b
}

func pruneBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	return ts[i:]
}

func (g *Guard) self() string {
	if g.Self != "" {
		return g.Self
	}
	return fieldmanager.Name
}

func (g *Guard) threshold() int {
	if g.Threshold > 0 {
		return g.Threshold
	}
	return DefaultThreshold
}

func (g *Guard) window() time.Duration {
	if g.Window > 0 {
		return g.Window
	}
	return DefaultWindow
}

func (g *Guard) giveUpFor() time.Duration {
	if g.GiveUpFor > 0 {
		return g.GiveUpFor
	}
	return DefaultGiveUpFor
}
