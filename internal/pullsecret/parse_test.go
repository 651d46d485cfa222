package pullsecret

import (
	"errors"
	"strings"
	"testing"
)

// secretsInTests are values of the test documents that no error message may contain.
var secretsInTests = []string{testPassword, "other", "YWxpY2U6cHc", "Ym9iOm90aGVy", "bm9jb2xvbg", "nocolon", "id-T0KEN"}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range secretsInTests {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want map[string]Entry
	}{
		{"username and password", `{"auths":{"reg.io":{"username":"alice","password":"pw"}}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "pw"}}},
		{"all three, consistent", `{"auths":{"reg.io":{"username":"alice","password":"pw","auth":"YWxpY2U6cHc="}}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "pw", FromAuth: true}}},
		{"auth only", `{"auths":{"reg.io":{"auth":"YWxpY2U6cHc="}}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "pw", FromAuth: true}}},
		{"auth unpadded", `{"auths":{"reg.io":{"auth":"YWxpY2U6cHc"}}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "pw", FromAuth: true}}},
		{"field names case-insensitive like kubelet", `{"Auths":{"reg.io":{"Username":"alice","PASSWORD":"pw","Email":"a@b"}}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "pw", Email: "a@b"}}},
		{"password with colon", `{"auths":{"reg.io":{"auth":"` + b64("alice:p:w") + `"}}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "p:w", FromAuth: true}}},
		{"several keys, schemes kept as written", `{"auths":{"https://reg.io/v2/":{"username":"a","password":"b"},"*.example.com":{"username":"c","password":"d"}}}`,
			map[string]Entry{"https://reg.io/v2/": {Username: "a", Password: "b"}, "*.example.com": {Username: "c", Password: "d"}}},
		{"unknown fields ignored", `{"auths":{"reg.io":{"username":"alice","password":"pw","x":1}},"credsStore":"desktop","HttpHeaders":{}}`,
			map[string]Entry{"reg.io": {Username: "alice", Password: "pw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.Legacy {
				t.Error("Legacy = true")
			}
			if len(cfg.Auths) != len(tt.want) {
				t.Fatalf("keys = %v, want %d", cfg.Keys(), len(tt.want))
			}
			for k, w := range tt.want {
				if got := cfg.Auths[k]; got != w {
					t.Errorf("Auths[%q] = %#v, want %#v", k, got, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    []error // every sentinel expected in the (joined) error
		msg     string
		keys    []string // entries still returned
		breaksK bool
	}{
		{"empty", ``, []error{ErrMalformedJSON}, "byte offset 0", nil, true},
		{"syntax", `{"auths":{"reg.io":{"username":"alice","password":"p"w"}}}`, []error{ErrMalformedJSON}, "byte offset", nil, true},
		{"top-level array", `[]`, []error{ErrMalformedJSON}, "the document is a JSON array, want an object", nil, true},
		{"auths is a string", `{"auths":"reg.io"}`, []error{ErrMalformedJSON}, `field "auths" is a JSON string`, nil, true},
		{"entry is a string", `{"auths":{"reg.io":"YWxpY2U6cHc="}}`, []error{ErrMalformedJSON}, `entry "reg.io"`, nil, true},
		{"username is a number", `{"auths":{"reg.io":{"username":1,"password":"pw"}}}`, []error{ErrMalformedJSON}, `field "username" is a JSON number`, nil, true},
		{"null", `null`, []error{ErrNoAuths}, "anonymously", nil, false},
		{"no auths", `{}`, []error{ErrNoAuths}, "", nil, false},
		{"empty auths", `{"auths":{}}`, []error{ErrNoAuths}, "", nil, false},
		{"creds store", `{"auths":{},"credsStore":"desktop"}`, []error{ErrNoAuths}, "credential helper", nil, false},
		{"legacy content", `{"reg.io":{"auth":"YWxpY2U6cHc="}}`, []error{ErrWrongFormat}, "legacy .dockercfg", nil, false},
		{"auth not base64", `{"auths":{"reg.io":{"auth":"!!!"}}}`, []error{ErrBadAuth}, "not valid base64", nil, true},
		{"auth without colon", `{"auths":{"reg.io":{"auth":"bm9jb2xvbg=="}}}`, []error{ErrBadAuth}, `no ":"`, nil, true},
		{"auth user mismatch", `{"auths":{"reg.io":{"username":"alice","password":"other","auth":"Ym9iOm90aGVy"}}}`, []error{ErrAuthMismatch}, `username field "alice"`, []string{"reg.io"}, false},
		{"auth password mismatch", `{"auths":{"reg.io":{"username":"alice","password":"other","auth":"YWxpY2U6cHc="}}}`, []error{ErrAuthMismatch}, "password differs", []string{"reg.io"}, false},
		{"no password", `{"auths":{"reg.io":{"username":"alice"}}}`, []error{ErrNoCredentials}, "no password", []string{"reg.io"}, false},
		{"empty entry", `{"auths":{"reg.io":{}}}`, []error{ErrNoCredentials}, "no username and password", []string{"reg.io"}, false},
		{"identity token only", `{"auths":{"reg.io":{"identitytoken":"id-T0KEN"}}}`, []error{ErrNoCredentials}, "ignores identitytoken", []string{"reg.io"}, false},
		{"auth with empty password", `{"auths":{"reg.io":{"auth":"YWxpY2U6"}}}`, []error{ErrNoCredentials}, "decodes to an empty password", []string{"reg.io"}, false},
		{"invalid key", `{"auths":{"reg.io:port/x":{"username":"a","password":"b"},"ok.io":{"username":"a","password":"b"}}}`, []error{ErrInvalidKey}, `entry "reg.io:port/x"`, []string{"ok.io"}, false},
		{"all problems at once",
			`{"auths":{"a.io":{"auth":"!!!"},"b.io":{"username":"alice"},"c.io":{"username":"x","password":"y","auth":"YWxpY2U6cHc="},"d.io":{"username":"u","password":"p"}}}`,
			[]error{ErrBadAuth, ErrNoCredentials, ErrAuthMismatch}, `entry "a.io"`, []string{"b.io", "c.io", "d.io"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("Parse: no error")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Errorf("error %q is not an *Error with a message", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			if got := BreaksKubelet(err); got != tt.breaksK {
				t.Errorf("BreaksKubelet = %v, want %v", got, tt.breaksK)
			}
			if strings.Join(cfg.Keys(), ",") != strings.Join(tt.keys, ",") {
				t.Errorf("keys = %v, want %v", cfg.Keys(), tt.keys)
			}
			assertNoSecrets(t, err)
		})
	}
}

// A syntax error must not quote the offending character: it may be part of a password.
func TestParseSyntaxErrorHidesCharacter(t *testing.T) {
	_, err := Parse([]byte(`{"auths":{"reg.io":{"password":"ab"Zcd"}}}`))
	if err == nil || strings.Contains(err.Error(), "'Z'") || strings.Contains(err.Error(), "Zcd") {
		t.Errorf("error = %v", err)
	}
}

func TestParseLegacy(t *testing.T) {
	cfg, err := ParseLegacy([]byte(`{"https://reg.io":{"auth":"YWxpY2U6cHc=","email":"a@b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{Username: "alice", Password: "pw", Email: "a@b", FromAuth: true}
	if !cfg.Legacy || cfg.Auths["https://reg.io"] != want {
		t.Errorf("cfg = %+v", cfg)
	}
	for doc, sentinel := range map[string]error{
		`{"auths":{"reg.io":{"auth":"YWxpY2U6cHc="}}}`: ErrWrongFormat,
		`{}`:             ErrNoAuths,
		`null`:           ErrNoAuths,
		`{"reg.io":"x"}`: ErrMalformedJSON,
		`{`:              ErrMalformedJSON,
	} {
		if _, err := ParseLegacy([]byte(doc)); !errors.Is(err, sentinel) {
			t.Errorf("ParseLegacy(%s) error = %v, want %v", doc, err, sentinel)
		}
	}
}

func TestEntryFormattingHidesPassword(t *testing.T) {
	e := Entry{Username: "alice", Password: testPassword}
	cfg := Config{Auths: map[string]Entry{"reg.io": e}}
	for _, s := range []string{e.String(), e.GoString(), e.LogValue().String(),
		sprintf("%v", e), sprintf("%+v", e), sprintf("%#v", e), sprintf("%v", cfg), sprintf("%+v", cfg)} {
		if strings.Contains(s, testPassword) {
			t.Errorf("formatted entry %q contains the password", s)
		}
	}
}
