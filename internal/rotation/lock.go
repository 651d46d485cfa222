package rotation

import "context"

// runLock is the run lock as one run holds it: taken by the first credential that has
// something to change, held until the end of the run (every credential and pass of RotateAll),
// and never taken by a run that has nothing to do.
type runLock struct {
	take    func(context.Context) (context.Context, func(), error)
	ctx     context.Context // ends when the lock is lost; valid once taken
	free    func()
	isTaken bool
}

type lockKey struct{}

// withLock makes lk the lock of the run ctx belongs to.
func withLock(ctx context.Context, lk *runLock) context.Context {
	return context.WithValue(ctx, lockKey{}, lk)
}

// lockFrom returns the run's lock, if an outer call (RotateAll) owns it.
func lockFrom(ctx context.Context) (*runLock, bool) {
	lk, ok := ctx.Value(lockKey{}).(*runLock)
	return lk, ok
}

func (l *runLock) held() bool { return l.isTaken }

// acquire takes the lock (no-op without a Lock) and returns the context to run under.
func (l *runLock) acquire(ctx context.Context) (context.Context, error) {
	if l.isTaken {
		return l.ctx, nil
	}
	if l.take == nil {
		l.ctx, l.free, l.isTaken = ctx, func() {}, true
		return ctx, nil
	}
	held, free, err := l.take(ctx)
	if err != nil {
		return ctx, err
	}
	l.ctx, l.free, l.isTaken = held, free, true
	return held, nil
}

func (l *runLock) release() {
	if l.isTaken && l.free != nil {
		l.free()
	}
	l.isTaken = false
}
