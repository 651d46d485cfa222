package events

import (
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// UnreachablePause is how long a Recorder drops Events after one could not reach the API server.
// A fleet member that stops answering mid-run would otherwise take every queued Event of the run
// (one per namespace) a request timeout each, one after the other: 100 namespaces held a
// finished `rotate now` 16 minutes (bench/RESULTS-fleet-freeze.md), its run lock with it.
const UnreachablePause = 30 * time.Second

// unreachable remembers that the API server did not answer, so that the Events meant for it are
// dropped (they are notes for people) rather than each waiting out its timeout. An answer of any
// kind, a refusal included, is no reason to stop.
type unreachable struct {
	mu      sync.Mutex
	until   time.Time
	dropped int
}

// skip says whether an Event sent now is dropped, and counts it.
func (u *unreachable) skip(now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Before(u.until) {
		u.dropped++
		return true
	}
	return false
}

// after records the outcome of a send at now; resumed says a pause ended with this send, which
// got an answer, after dropping dropped Events.
func (u *unreachable) after(err error, now time.Time) (dropped int, resumed bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil && !isAnswer(err) {
		u.until = now.Add(UnreachablePause)
		return 0, false
	}
	dropped, u.dropped = u.dropped, 0
	return dropped, dropped > 0
}

// isAnswer: err is the API server's own answer (a status), not a failure to reach it.
func isAnswer(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}
