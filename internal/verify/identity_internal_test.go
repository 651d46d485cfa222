package verify

import (
	"encoding/base64"
	"testing"
)

func jwtOf(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
}

func TestTokenIdentity(t *testing.T) {
	gitlabUser := func(info string) string { return jwtOf(`{"user_info":` + info + `}`) }
	tests := []struct {
		name string
		tok  string
		who  string
		v    verdict
	}{
		{"named", jwtOf(`{"sub":"robot$team+pull","access":[]}`), "robot$team+pull", named},
		{"empty sub", jwtOf(`{"sub":""}`), "", anonymous},
		{"null sub says nothing", jwtOf(`{"sub":null}`), "", unknown},
		{"numeric sub says nothing", jwtOf(`{"sub":42}`), "", unknown},
		{"no sub (Harbor anonymous)", jwtOf(`{"iss":"harbor-token-issuer","access":[]}`), "", unknown},
		{"GitLab deploy token: no sub, user claim", jwtOf(`{"user":"` + gitlabUser(`{"token_type":"deploy_token","username":"gitlab+deploy-token-7","deploy_token_id":7}`) + `"}`), "gitlab+deploy-token-7", named},
		{"GitLab anonymous: user_info null", jwtOf(`{"user":"` + gitlabUser(`null`) + `"}`), "", unknown},
		{"sub wins over the user claim", jwtOf(`{"sub":"alice","user":"` + gitlabUser(`{"username":"bob"}`) + `"}`), "alice", named},
		{"user claim not a JWT", jwtOf(`{"user":"opaque"}`), "", unknown},
		{"padded payload", base64.RawURLEncoding.EncodeToString([]byte("{}")) + "." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"u"}`)) + ".x", "u", named},
		{"opaque", "3f9a0c1d2e", "", unknown},
		{"two dots, not JSON", "a.b.c", "", unknown},
		{"payload not an object", jwtOf(`["sub"]`), "", unknown},
	}
	for _, tt := range tests {
		who, v := tokenIdentity(tt.tok)
		if who != tt.who || v != tt.v {
			t.Errorf("%s: tokenIdentity = %q, %v; want %q, %v", tt.name, who, v, tt.who, tt.v)
		}
	}
}

func TestIPLiteral(t *testing.T) {
	tests := []struct {
		host string
		want string // "" = not an IP literal
	}{
		{"169.254.169.254", "169.254.169.254"},
		{"0xa9fea9fe", "169.254.169.254"},
		{"0251.0376.0251.0376", "169.254.169.254"},
		{"169.254.43518", "169.254.169.254"},
		{"169.16689662", "169.254.169.254"},
		{"2130706433", "127.0.0.1"},
		{"::ffff:169.254.169.254", "169.254.169.254"},
		{"fe80::1%eth0", "fe80::1"},
		{"10.0.0.5", "10.0.0.5"},
		{"gitlab.example.com", ""},
		{"localhost", ""},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"1.2.65536", ""},
		{"", ""},
	}
	for _, tt := range tests {
		addr, ok := ipLiteral(tt.host)
		got := ""
		if ok {
			got = addr.String()
		}
		if got != tt.want {
			t.Errorf("ipLiteral(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}
