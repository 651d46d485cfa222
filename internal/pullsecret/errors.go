package pullsecret

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of them, so a
// caller branches with errors.Is; errors.As with *Error gives the secret and the
// entry concerned. Parse may return several problems at once (errors.Join), each
// still reachable through errors.Is/As.
var (
	// ErrWrongType: the Secret's type is not one kubelet reads as a pull secret.
	ErrWrongType = errors.New("wrong secret type")
	// ErrMissingKey: the Secret lacks (or has empty) the data key its type requires.
	ErrMissingKey = errors.New("missing data key")
	// ErrMalformedJSON: the document, or one entry of it, is not the JSON expected.
	// kubelet refuses the whole secret in that case.
	ErrMalformedJSON = errors.New("malformed JSON")
	// ErrWrongFormat: the document is valid JSON of the other format (legacy
	// .dockercfg content under .dockerconfigjson, or the reverse).
	ErrWrongFormat = errors.New("wrong pull secret format")
	// ErrNoAuths: the document holds no registry entry at all.
	ErrNoAuths = errors.New("no registry entries")
	// ErrInvalidKey: an entry's registry key is no URL kubelet can parse; kubelet
	// skips that entry.
	ErrInvalidKey = errors.New("invalid registry key")
	// ErrBadAuth: an auth field is not base64(username:password). kubelet refuses
	// the whole secret in that case.
	ErrBadAuth = errors.New("undecodable auth field")
	// ErrAuthMismatch: the auth field and the username/password fields disagree.
	// kubelet and Docker use the auth field.
	ErrAuthMismatch = errors.New("auth field disagrees with username/password")
	// ErrNoCredentials: an entry lacks a username or a password kubelet could use.
	ErrNoCredentials = errors.New("entry without usable credentials")
	// ErrInvalidHost: CanonicalHost or Build was given an unusable registry host.
	ErrInvalidHost = errors.New("invalid registry host")
	// ErrInvalidCredential: Build was given a username or password that cannot be
	// written as a pull secret.
	ErrInvalidCredential = errors.New("invalid credential")
)

// Error describes one problem of a pull secret. Its text never holds a password,
// an auth value or a fragment of the document (JSON syntax errors are reported by
// byte offset only, because encoding/json quotes the offending character).
type Error struct {
	// Kind is one of the Err* sentinels above; Unwrap returns it.
	Kind error
	// Secret is "namespace/name" when the problem was found by ParseSecret.
	Secret string
	// Key is the registry key of the entry concerned, empty for the whole document.
	Key string
	// Msg says what is wrong and, where one exists, how to fix it.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	s := ""
	if e.Secret != "" {
		s = "secret " + e.Secret + ": "
	}
	if e.Key != "" {
		s += fmt.Sprintf("entry %q: ", e.Key)
	}
	s += e.Kind.Error()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap returns the sentinel, so errors.Is(err, ErrBadAuth) works.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, secret, key, format string, args ...any) *Error {
	return &Error{Kind: kind, Secret: secret, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// BreaksKubelet reports whether err contains a problem for which kubelet refuses
// the whole secret: it then fails every pull of a pod that lists the secret, not
// only pulls from the registry of the broken entry. Other problems (ErrAuthMismatch,
// ErrNoCredentials, ErrInvalidKey) affect one entry at most.
func BreaksKubelet(err error) bool {
	return errors.Is(err, ErrMalformedJSON) || errors.Is(err, ErrBadAuth)
}
