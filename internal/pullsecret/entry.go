package pullsecret

import (
	"fmt"
	"log/slog"
	"sort"
)

// Entry is one registry credential of a pull secret, as kubelet uses it: when the
// auth field is present its decoded username and password win over the username and
// password fields, exactly as in kubelet's DockerConfigEntry.UnmarshalJSON.
//
// Its String, GoString and LogValue forms hide the password, so printing or logging
// an Entry by accident does not leak it.
type Entry struct {
	Username string
	Password string
	Email    string
	// FromAuth reports that Username and Password were decoded from the auth field.
	FromAuth bool
}

// String implements fmt.Stringer without the password.
func (e Entry) String() string {
	return fmt.Sprintf("{username:%q password:%s}", e.Username, redacted(e.Password))
}

// GoString implements fmt.GoStringer (used by %#v) without the password.
func (e Entry) GoString() string { return "pullsecret.Entry" + e.String() }

// LogValue implements slog.LogValuer without the password.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", e.Username), slog.String("password", redacted(e.Password)))
}

func redacted(s string) string {
	if s == "" {
		return "<empty>"
	}
	return "<redacted>"
}

// Config is the content of a pull secret: registry key → credential.
type Config struct {
	// Legacy is true when the document was in the kubernetes.io/dockercfg format.
	Legacy bool
	// Auths maps each registry key, exactly as written in the document, to the
	// credential kubelet would use for it. Entries kubelet would skip or refuse
	// (ErrInvalidKey, ErrBadAuth, an entry that is not a JSON object) are left out;
	// entries with other problems (ErrAuthMismatch, ErrNoCredentials) stay, as
	// kubelet would use them.
	Auths map[string]Entry
}

// Keys returns the registry keys of c in sorted order.
func (c Config) Keys() []string {
	keys := make([]string, 0, len(c.Auths))
	for k := range c.Auths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
