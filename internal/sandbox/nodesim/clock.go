package nodesim

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// withTicker returns c as a clock.WithTicker, which the workqueue needs. The real and the fake
// clocks of k8s.io/utils have tickers already; any other Clock gets tickers built on its own
// timers, so every delay keeps following the injected clock.
func withTicker(c clock.Clock) clock.WithTicker {
	if wt, ok := c.(clock.WithTicker); ok {
		return wt
	}
	return timerTickerClock{c}
}

type timerTickerClock struct{ clock.Clock }

// NewTicker emulates a ticker with a goroutine that re-arms one of the clock's timers.
func (c timerTickerClock) NewTicker(d time.Duration) clock.Ticker {
	t := &timerTicker{ch: make(chan time.Time, 1), stop: make(chan struct{})}
	timer := c.NewTimer(d)
	go func() {
		defer timer.Stop()
		for {
			select {
			case now := <-timer.C():
				select {
				case t.ch <- now:
				default: // like time.Ticker, drop ticks nobody reads
				}
				timer.Reset(d)
			case <-t.stop:
				return
			}
		}
	}()
	return t
}

type timerTicker struct {
	ch   chan time.Time
	stop chan struct{}
	once sync.Once
}

func (t *timerTicker) C() <-chan time.Time { return t.ch }
func (t *timerTicker) Stop()               { t.once.Do(func() { close(t.stop) }) }
