package harbor

import (
	"context"
	"net/http"

	"github.com/go-openapi/runtime"
	rtclient "github.com/go-openapi/runtime/client"
)

// PasswordError is a failure of Options.PasswordFunc: the password could not be read where it
// is kept (Vault, a file). It is reported as that, not as a Harbor or network failure.
type PasswordError struct{ Err error }

func (e *PasswordError) Error() string { return "read the Harbor password: " + e.Err.Error() }
func (e *PasswordError) Unwrap() error { return e.Err }

// basicAuth returns how requests carry the admin credentials: go-client's basic-auth writer for
// a fixed password, or a transport that asks PasswordFunc at each request (go-client's auth
// writers get no context, the transport gets the request's).
func basicAuth(o Options, next http.RoundTripper) (runtime.ClientAuthInfoWriter, http.RoundTripper) {
	if o.PasswordFunc == nil {
		return rtclient.BasicAuth(o.Username, o.Password), next
	}
	return nil, passwordTransport{user: o.Username, password: o.PasswordFunc, next: next}
}

type passwordTransport struct {
	user     string
	password func(context.Context) (string, error)
	next     http.RoundTripper
}

func (t passwordTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pw, err := t.password(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, &PasswordError{Err: err}
	}
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, pw)
	return t.next.RoundTrip(r)
}
