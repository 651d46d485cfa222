package verify

import (
	"encoding/base64"
	"testing"
)

func jwtOf(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
}

func TestJWTSubject(t *testing.T) {
	tests := []struct {
		name   string
		tok    string
		sub    string
		hasSub bool
	}{
		{"named", jwtOf(`{"sub":"robot$team+pull","access":[]}`), "robot$team+pull", true},
		{"empty sub", jwtOf(`{"sub":""}`), "", true},
		{"null sub (GitLab anonymous)", jwtOf(`{"sub":null}`), "", true},
		{"numeric sub names nobody", jwtOf(`{"sub":42}`), "", true},
		{"no sub (Harbor anonymous)", jwtOf(`{"iss":"harbor-token-issuer","access":[]}`), "", false},
		{"padded payload", base64.RawURLEncoding.EncodeToString([]byte("{}")) + "." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"u"}`)) + ".x", "u", true},
		{"opaque", "3f9a0c1d2e", "", false},
		{"two dots, not JSON", "a.b.c", "", false},
		{"payload not an object", jwtOf(`["sub"]`), "", false},
	}
	for _, tt := range tests {
		sub, ok := jwtSubject(tt.tok)
		if sub != tt.sub || ok != tt.hasSub {
			t.Errorf("%s: jwtSubject = %q, %v; want %q, %v", tt.name, sub, ok, tt.sub, tt.hasSub)
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
