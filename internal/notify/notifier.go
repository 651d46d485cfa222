package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rotatorhq/rotator/internal/metrics"
)

// Webhook is one receiver, as config.Webhook says, with its URL read through URL at each
// delivery (a URL changed in Vault or its file is used by the next notification).
type Webhook struct {
	Name           string
	URL            func(ctx context.Context) (string, error)
	Format         string
	Events         []Kind
	Timeout        time.Duration
	MaxAttempts    int
	RepeatInterval time.Duration
}

// Options of a Notifier. The zero value is usable.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.Notifications
	// Client sends the POSTs; nil: a client of its own (no shared cookies, default proxy rules).
	Client *http.Client
	// QueueSize bounds each webhook's queue; a notification that finds it full is dropped and
	// counted, never waited for. Default 100.
	QueueSize int
	// MinBackoff is the first wait between attempts, doubling up to MaxBackoff. Default 1s, 1m.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock of deduplication; nil: time.Now.
	Now func() time.Time
}

// Notifier sends notifications to its webhooks. A nil *Notifier sends nothing.
type Notifier struct {
	o     Options
	hooks []*hook
	wg    sync.WaitGroup
	stop  context.CancelFunc
}

type hook struct {
	Webhook
	queue chan Notification
	dedup dedup
}

// New builds a notifier; Start starts its deliveries.
func New(hooks []Webhook, o Options) *Notifier {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 100
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := &Notifier{o: o}
	for _, w := range hooks {
		n.hooks = append(n.hooks, &hook{Webhook: w, queue: make(chan Notification, o.QueueSize), dedup: dedup{sent: map[string]time.Time{}}})
	}
	return n
}

// Start delivers queued notifications, one webhook at a time each, until ctx ends or Stop.
func (n *Notifier) Start(ctx context.Context) {
	if n == nil {
		return
	}
	ctx, n.stop = context.WithCancel(ctx)
	for _, h := range n.hooks {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.deliverAll(ctx, h)
		}()
	}
}

// Stop ends the deliveries (what is still queued is lost: notifications are best effort) and
// waits for them.
func (n *Notifier) Stop() {
	if n == nil || n.stop == nil {
		return
	}
	n.stop()
	n.wg.Wait()
}

// Notify queues nt for every webhook that wants its kind. It never blocks.
func (n *Notifier) Notify(nt Notification) {
	if n == nil {
		return
	}
	kind := string(nt.Kind())
	for _, h := range n.hooks {
		if !slices.Contains(h.Events, nt.Kind()) {
			continue
		}
		key := kind + "/" + nt.About().Name + "/" + nt.key()
		if !h.dedup.claim(key, n.o.Now(), h.RepeatInterval) {
			n.o.Metrics.Count(kind, "suppressed")
			continue
		}
		select {
		case h.queue <- nt:
		default:
			h.dedup.forget(key) // not sent: the next occurrence may be
			n.o.Metrics.Count(kind, "dropped")
			n.o.Logger.Warn("notification dropped: the webhook's queue is full", "webhook", h.Name, "kind", kind, "credential", nt.About().Name)
		}
	}
}

func (n *Notifier) deliverAll(ctx context.Context, h *hook) {
	for {
		select {
		case <-ctx.Done():
			return
		case nt := <-h.queue:
			n.deliver(ctx, h, nt)
		}
	}
}

// deliver sends nt with retries: a network error, a 5xx or a 429 is retried with exponential
// back-off (or the receiver's Retry-After), any other 4xx is not.
func (n *Notifier) deliver(ctx context.Context, h *hook, nt Notification) {
	kind, cred := string(nt.Kind()), nt.About().Name
	fail := func(err error, attempts int) {
		h.dedup.forget(kind + "/" + cred + "/" + nt.key())
		n.o.Metrics.Count(kind, "failed")
		n.o.Logger.Warn("notification not delivered", "webhook", h.Name, "kind", kind, "credential", cred, "attempts", attempts, "err", err)
	}
	body, err := Render(nt, h.Format)
	if err != nil {
		fail(err, 0)
		return
	}
	wait := n.o.MinBackoff
	for attempt := 1; ; attempt++ {
		url, err := h.URL(ctx)
		var retryAfter time.Duration
		if err == nil {
			retryAfter, err = post(ctx, n.o.Client, url, body, h.Timeout)
		}
		if err == nil {
			n.o.Metrics.Count(kind, "sent")
			n.o.Logger.Debug("notification sent", "webhook", h.Name, "kind", kind, "credential", cred, "attempts", attempt)
			return
		}
		if errors.Is(err, errPermanent) || attempt >= h.MaxAttempts || ctx.Err() != nil {
			fail(err, attempt)
			return
		}
		d := max(wait, retryAfter)
		wait = min(2*wait, n.o.MaxBackoff)
		select {
		case <-ctx.Done():
			fail(ctx.Err(), attempt)
			return
		case <-time.After(d):
		}
	}
}

// dedup remembers when each key was last queued.
type dedup struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

// claim reports whether key may be sent now, and records it if so. Entries older than every
// interval are pruned as it goes, so the map stays as small as what is recent.
func (d *dedup) claim(key string, now time.Time, every time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, t := range d.sent {
		if now.Sub(t) >= every {
			delete(d.sent, k)
		}
	}
	if t, ok := d.sent[key]; ok && now.Sub(t) < every {
		return false
	}
	if every > 0 {
		d.sent[key] = now
	}
	return true
}

func (d *dedup) forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.sent, key)
}
