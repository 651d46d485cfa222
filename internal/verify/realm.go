package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxTokenBody bounds the token service's answer, as go-containerregistry does.
const maxTokenBody = 64 << 10

// errRealm is a refusal to send the credential to the realm the registry named.
type errRealm struct{ msg string }

func (e errRealm) Error() string { return e.msg }

// checkRealm returns the realm of a Bearer challenge when the credential may go
// there. Unlike go-containerregistry it accepts a realm on a private or loopback
// IP literal on another port: GitLab serves /jwt/auth on its own host, which is
// often such an address, while the registry listens elsewhere. It still refuses
// what would expose the credential: http while the registry is reached over
// https (unless Checker.Insecure), any scheme but http and https, and a
// link-local or unspecified address, where no token service lives but a cloud
// metadata service does (169.254.169.254).
func (s *session) checkRealm(pr *transport.Challenge) (*url.URL, error) {
	raw, ok := pr.Parameters["realm"]
	if !ok || raw == "" {
		return nil, &PullError{Reason: ReasonOther, Stage: StagePing,
			Detail: "the registry's Bearer challenge names no realm (token service) to authenticate at"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, failAt(StagePing, errRealm{fmt.Sprintf("invalid realm in www-authenticate: %q is no URL", raw)})
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !pr.Insecure && !s.c.Insecure {
			return nil, failAt(StagePing, errRealm{fmt.Sprintf(
				"invalid realm in www-authenticate: realm scheme %q not allowed for a registry reached over https: %s", u.Scheme, raw)})
		}
	default:
		return nil, failAt(StagePing, errRealm{fmt.Sprintf(
			"invalid realm in www-authenticate: realm scheme %q not allowed, only https (or http for an insecure registry): %s", u.Scheme, raw)})
	}
	if u.Host != s.ref.Context().RegistryStr() {
		if addr, ok := ipLiteral(u.Hostname()); ok && (addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsUnspecified()) {
			return nil, failAt(StagePing, errRealm{fmt.Sprintf(
				"invalid realm in www-authenticate: realm host %q is a link-local or unspecified address (%s)", u.Hostname(), raw)})
		}
	}
	return u, nil
}

// ipLiteral parses host as an IP address in every form a resolver may accept,
// including inet_aton's ("169.254.43518", "0xa9fea9fe"), so a realm cannot slip a
// metadata address past checkRealm.
func ipLiteral(host string) (netip.Addr, bool) {
	host, _, _ = strings.Cut(host, "%") // a zone does not change the address dialled
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone("").Unmap(), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 0, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		// The last part fills the bytes the others left.
		rest := uint(8 * (4 - i))
		if rest < 32 && n >= 1<<rest {
			return netip.Addr{}, false
		}
		v = v<<rest | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// requestToken asks the realm for a token for scope ("" for none) with the
// credential, once: a refusal is returned, never repeated (GitLab counts failed
// /jwt/auth requests toward its IP ban). Temporary failures are retried by the
// session's transport.
func (s *session) requestToken(ctx context.Context, realm *url.URL, service string, hasService bool, scope string) (string, error) {
	u := *realm
	q := u.Query()
	if hasService {
		q.Set("service", service)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", failAt(StageToken, err)
	}
	if s.cred.basic != "" {
		req.Header.Set("Authorization", s.cred.basic)
	}
	client := &http.Client{Transport: s.rt, CheckRedirect: sameRealm}
	resp, err := client.Do(req)
	if err != nil {
		return "", failAt(StageToken, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return "", failAt(StageToken, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return "", failAt(StageToken, err)
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", &PullError{Reason: ReasonOther, Stage: StageToken, Status: resp.StatusCode,
			Detail: "the token service's answer is not the JSON of a token: " + err.Error(), Err: err}
	}
	tok := tr.Token
	if tok == "" {
		tok = tr.AccessToken // some services set only access_token (OAuth 2 style)
	}
	if tok == "" {
		return "", &PullError{Reason: ReasonOther, Stage: StageToken,
			Detail: "the token endpoint answered 200 without a token", Err: errors.New("no token in bearer response")}
	}
	s.tokens = append(s.tokens, tok)
	return tok, nil
}

// sameRealm follows a token service's redirect only on its own host and never
// from https to http: net/http would carry the credential along on the same host,
// and the credential goes nowhere but to the realm of the registry's challenge.
func sameRealm(req *http.Request, via []*http.Request) error {
	first := via[0]
	switch {
	case len(via) >= 10:
		return errors.New("stopped after 10 redirects")
	case req.URL.Host != first.URL.Host || (first.URL.Scheme == "https" && req.URL.Scheme != "https"):
		return errRealm{fmt.Sprintf("refusing token-server redirect from %s://%s to %s://%s",
			first.URL.Scheme, first.URL.Host, req.URL.Scheme, req.URL.Host)}
	}
	return nil
}
