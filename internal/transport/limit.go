package transport

import (
	"fmt"
	"io"
	"net/http"
)

// MaxAPIResponse bounds one response body of a provider's API (Harbor, GitLab) and of Vault.
// Their largest legitimate answer is a page of 100 robots, tokens or projects (well under 1 MiB);
// a server that sends more (a proxy's endless error page, a compromised or broken server) must
// not grow the rotator's memory until the kernel kills it, for every credential at once.
const MaxAPIResponse = 16 << 20

// LimitResponses makes every response body read through rt end with an error once it passes max
// bytes, instead of being read to its end.
func LimitResponses(rt http.RoundTripper, max int64) http.RoundTripper {
	return limited{rt: rt, max: max}
}

type limited struct {
	rt  http.RoundTripper
	max int64
}

func (l limited) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &limitedBody{body: resp.Body, left: l.max, max: l.max, url: req.URL.Scheme + "://" + req.URL.Host + req.URL.Path}
	return resp, nil
}

// limitedBody reads body until left runs out, then fails naming the request (without its
// query or user info, which may carry a secret).
type limitedBody struct {
	body io.ReadCloser
	left int64
	max  int64
	url  string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		n, err := b.body.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("the response to %s is larger than %d bytes, more than any answer of this API: refusing to read it", b.url, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }
