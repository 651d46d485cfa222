package events

import (
	"context"
	"sync"
)

// queue holds the events of a Background Recorder and runs their one sender. The sender starts
// with the first event queued and ends when the queue is empty, so an idle Recorder holds no
// goroutine.
type queue struct {
	mu      sync.Mutex
	pending []queued
	// drained is closed by the sender when it finds the queue empty; nil while none runs.
	drained chan struct{}
}

type queued struct {
	ctx context.Context
	n   note
}

func (q *queue) add(ctx context.Context, n note, send func(context.Context, note)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, queued{ctx, n})
	if q.drained == nil {
		q.drained = make(chan struct{})
		go q.run(send, q.drained)
	}
}

func (q *queue) run(send func(context.Context, note), drained chan struct{}) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.drained = nil
			q.mu.Unlock()
			close(drained)
			return
		}
		next := q.pending[0]
		q.pending[0] = queued{}
		q.pending = q.pending[1:]
		q.mu.Unlock()
		send(next.ctx, next.n)
	}
}

// Flush waits until every queued event has been written (or has failed). When ctx ends first,
// the events still queued are dropped — they are notes for people, and a process shutting down
// must not wait on them — and Flush returns how many. A nil or synchronous Recorder returns at
// once.
func (r *Recorder) Flush(ctx context.Context) (dropped int) {
	if r == nil {
		return 0
	}
	q := &r.queue
	q.mu.Lock()
	drained := q.drained
	q.mu.Unlock()
	if drained == nil {
		return 0
	}
	select {
	case <-drained:
		return 0
	case <-ctx.Done():
	}
	q.mu.Lock()
	dropped = len(q.pending)
	q.pending = nil
	q.mu.Unlock()
	if dropped > 0 && r.Logger != nil {
		r.Logger.Warn("events not recorded: the run was stopped", "dropped", dropped)
	}
	return dropped
}
