package pullsecret

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse or ParseLegacy panic, that every error
// (and every error joined into it) has a message and is an *Error wrapping a
// sentinel, and that a successful parse yields usable entries.
// Seeds live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"auths":{"reg.io":{"username":"alice","password":"pw","auth":"YWxpY2U6cHc="}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) (Config, error){Parse, ParseLegacy} {
			cfg, err := parse(data)
			if err != nil {
				checkErrorTree(t, err)
				continue
			}
			if len(cfg.Auths) == 0 {
				t.Fatalf("no error and no entries for %q", data)
			}
			var k Keyring
			k.Add("fuzz", cfg)
			for key, e := range cfg.Auths {
				if e.Username == "" || e.Password == "" {
					t.Fatalf("no error but entry %q lacks credentials", key)
				}
				_ = KeyMatchesImage(key, "registry.example.com/app")
				_ = k.Lookup(key + "/app")
			}
		}
		_ = Fingerprint(data)
	})
}

// checkErrorTree walks err and the errors joined into it: every leaf must be an
// *Error with a kind and a message.
func checkErrorTree(t *testing.T, err error) {
	t.Helper()
	if err.Error() == "" {
		t.Fatal("error without message")
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			checkErrorTree(t, e)
		}
		return
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind == nil || pe.Msg == "" {
		t.Fatalf("error %q is not a complete *Error", err)
	}
}

// FuzzBuildRoundTrip checks that what Build writes, Parse reads back unchanged, that
// kubelet's rules and the literal rule both find it, and that no error of Build
// quotes the password.
func FuzzBuildRoundTrip(f *testing.F) {
	f.Add("registry.example.com:5000", "robot$proj+pull", "s3cr3t-PASSWORD")
	f.Add("docker.io", "gitlab+deploy-token-1", "glpat-xxxxxxxxxxxxxxxx")
	f.Fuzz(func(t *testing.T, host, user, pass string) {
		data, err := Build(host, user, pass)
		if err != nil {
			if len(pass) >= 6 && strings.Contains(err.Error(), pass) {
				t.Fatalf("error %q quotes the password", err)
			}
			return
		}
		cfg, err := Parse(data)
		if err != nil {
			t.Fatalf("Parse(Build(%q, %q, …)): %v", host, user, err)
		}
		key := SecretKey(host)
		e, ok := cfg.Auths[key]
		if !ok || len(cfg.Auths) != 1 || e.Username != user || e.Password != pass {
			t.Fatalf("round trip of %q/%q changed the entry", host, user)
		}
		if !LiteralMatch(key, host) {
			t.Fatalf("LiteralMatch(%q, %q) = false", key, host)
		}
		if image := host + "/team/app:1"; !KeyMatchesImage(key, image) {
			t.Fatalf("KeyMatchesImage(%q, %q) = false: %s", key, image, MismatchReason(key, image))
		}
	})
}
