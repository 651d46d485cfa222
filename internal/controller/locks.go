package controller

import "sync"

// CredentialLocks keep a credential's namespace reconciles out of the way of a run of the same
// credential in this process: a run decides what each namespace holds from its own snapshot, and
// a reconcile writing in between would make that record wrong. Runs wait (Lock); reconciles do not
// (TryLock), they come back later.
type CredentialLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (l *CredentialLocks) of(credential string) *sync.Mutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m, ok := l.locks[credential]
	if !ok {
		m = &sync.Mutex{}
		l.locks[credential] = m
	}
	return m
}

// Lock waits for the credential's lock.
func (l *CredentialLocks) Lock(credential string) { l.of(credential).Lock() }

// TryLock takes the credential's lock if it is free.
func (l *CredentialLocks) TryLock(credential string) bool { return l.of(credential).TryLock() }

// Unlock releases the credential's lock.
func (l *CredentialLocks) Unlock(credential string) { l.of(credential).Unlock() }
