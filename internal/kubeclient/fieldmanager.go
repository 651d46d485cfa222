package kubeclient

import (
	"net/http"

	"github.com/rotatorhq/rotator/internal/fieldmanager"
)

// withFieldManager names the rotator as the field manager of every create, update and patch
// that does not name one: the requests client-go sends on the rotator's behalf (the leader
// lease) carry no options of ours. The rotator's own writes set it explicitly
// (fieldmanager.Create and friends), so a fake clientset sees it too; this is the net under
// them. Without a name the API server records the user agent's binary name, which a GitOps
// tool cannot tell apart from a kubectl of the same name (docs/gitops.md).
type withFieldManager struct{ next http.RoundTripper }

func (t withFieldManager) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return t.next.RoundTrip(req)
	}
	q := req.URL.Query()
	if q.Get("fieldManager") != "" {
		return t.next.RoundTrip(req)
	}
	// RoundTrippers must not modify the request they are given.
	req = req.Clone(req.Context())
	q.Set("fieldManager", fieldmanager.Name)
	req.URL.RawQuery = q.Encode()
	return t.next.RoundTrip(req)
}
