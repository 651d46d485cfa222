package controller

import "time"

// repairBudget keeps a tenant from spending the rotator's work on one namespace: whoever may
// delete or edit the managed Secret of their namespace could otherwise make the rotator write it
// back at their pace, in a loop, with the requests (client rate limit, workers) every other
// namespace shares. After limit repairs of one namespace within window, its next reconcile waits
// until the oldest of them leaves the window: the namespace still gets its Secret back, at most
// limit times per window, and the others are served meanwhile. A namespace in sync costs nothing
// and counts nothing.
type repairBudget struct {
	limit  int
	window time.Duration
	times  map[key][]time.Time // the repairs of a (credential, namespace) key within window
	// warned: the key whose put-off was already logged in its current window.
	warned map[key]bool
}

// wait is how long k's next reconcile must wait (0: now); the first put-off of a window is
// reported by firstWait.
func (b *repairBudget) wait(k key, now time.Time) (wait time.Duration, firstWait bool) {
	ts := b.recent(k, now)
	if len(ts) < b.limit {
		return 0, false
	}
	first := !b.warned[k]
	b.warned[k] = true
	return ts[0].Add(b.window).Sub(now), first
}

// repaired records a repair of k at now.
func (b *repairBudget) repaired(k key, now time.Time) {
	b.times[k] = append(b.recent(k, now), now)
}

// recent drops k's repairs older than window and returns the rest, oldest first.
func (b *repairBudget) recent(k key, now time.Time) []time.Time {
	ts := b.times[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= b.window {
		i++
	}
	ts = ts[i:]
	switch {
	case len(ts) == 0:
		delete(b.times, k)
		delete(b.warned, k)
	case i > 0:
		b.times[k] = ts
	}
	if len(ts) < b.limit {
		delete(b.warned, k)
	}
	return ts
}
