package secretsource

import (
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// expiryMargin: a token this close to its expiry is replaced before use, so that a request
// never starts with a token that dies on the way. A short-lived token gets a quarter of its TTL.
const expiryMargin = 5 * time.Second

// session is one token and the client carrying it. Requests in flight keep their session's
// client when a new login replaces it.
type session struct {
	client *api.Client
	token  string

	margin time.Duration

	mu      sync.Mutex
	expires time.Time // zero: never
	ended   bool      // renewal gave up (max TTL reached, renewal refused)
	stopFn  func()
}

func newSession(c *api.Client, res loginResult, now time.Time) *session {
	return &session{client: c, token: res.token, expires: res.expiry(now), margin: min(expiryMargin, res.ttl/4), stopFn: func() {}}
}

// usable reports whether the token can still be used at now.
func (s *session) usable(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	return s.expires.IsZero() || now.Add(s.margin).Before(s.expires)
}

func (s *session) setExpiry(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expires = t
}

func (s *session) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
}

func (s *session) stop() {
	s.mu.Lock()
	stop := s.stopFn
	s.stopFn = func() {}
	s.mu.Unlock()
	stop()
}

// watch renews s's token with a LifetimeWatcher until it can no longer be renewed (max TTL, a
// refused renewal); then the session ends and the next request logs in again.
func (v *Vault) watch(s *session, res loginResult) {
	w, err := s.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: res.secret})
	if err != nil {
		// Not fatal: the token is used until its TTL, then replaced by a new login.
		v.log.Warn("cannot watch the Vault token; it will be replaced by a new login when it expires", "err", err.Error())
		return
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.stopFn = func() { close(done) }
	s.mu.Unlock()
	go w.Start()
	go func() {
		defer w.Stop()
		for {
			select {
			case err := <-w.DoneCh():
				s.end()
				if err != nil {
					v.log.Warn("Vault token renewal failed; logging in again at next use", "method", v.method.name(), "err", err.Error())
				} else {
					v.log.Info("Vault token reached the end of its renewable life; logging in again at next use", "method", v.method.name())
				}
				return
			case r := <-w.RenewCh():
				if r != nil && r.Secret != nil && r.Secret.Auth != nil {
					s.setExpiry(r.RenewedAt.Add(time.Duration(r.Secret.Auth.LeaseDuration) * time.Second))
					v.log.Debug("renewed the Vault token", "method", v.method.name(), "ttl", (time.Duration(r.Secret.Auth.LeaseDuration) * time.Second).String())
				}
			case <-done:
				return
			case <-v.ctx.Done():
				return
			}
		}
	}()
}
