package controller

import "sync"

// CredentialLocks keep a credential's namespace reconciles out of the way of a run of the same
// credential in this process: a run decides what each namespace holds from its own snapshot, and
// a reconcile writing in between would make that record wrong. Reconciles of one credential run
// side by side (each writes its own namespace); a run excludes them all. Runs wait (Lock);
// reconciles do not (TryReconcile), they come back later.
type CredentialLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.RWMutex
}

func (l *CredentialLocks) of(credential string) *sync.RWMutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = map[string]*sync.RWMutex{}
	}
	m, ok := l.locks[credential]
	if !ok {
		m = &sync.RWMutex{}
		l.locks[credential] = m
	}
	return m
}

// Lock waits until no reconcile of the credential is in progress and keeps new ones out: a run.
func (l *CredentialLocks) Lock(credential string) { l.of(credential).Lock() }

// Unlock ends the run.
func (l *CredentialLocks) Unlock(credential string) { l.of(credential).Unlock() }

// TryReconcile admits one more reconcile of the credential unless a run holds it.
func (l *CredentialLocks) TryReconcile(credential string) bool { return l.of(credential).TryRLock() }

// DoneReconcile ends a reconcile admitted by TryReconcile.
func (l *CredentialLocks) DoneReconcile(credential string) { l.of(credential).RUnlock() }
