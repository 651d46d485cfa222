package doctor

import (
	"encoding/base64"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// minSecretLen: shorter values are not scrubbed, they would blank out ordinary words. Nothing
// the doctor writes is built from a secret's value; the scrub is a second line of defence
// against a registry or a runtime that echoes one into kubelet's message.
const minSecretLen = 8

// redactor remembers the values of every Secret the doctor read, and removes them from text.
type redactor struct {
	values map[string]bool
}

func newRedactor() *redactor { return &redactor{values: map[string]bool{}} }

// addSecret remembers s's data values, and the passwords and auth fields inside a pull secret.
func (r *redactor) addSecret(s *corev1.Secret) {
	for _, v := range s.Data {
		r.add(string(v))
	}
	for _, v := range s.StringData {
		r.add(v)
	}
	cfg, _ := pullsecret.ParseSecret(s) // the entries kubelet would use, even beside an error
	for _, e := range cfg.Auths {
		r.add(e.Password)
		auth := e.Username + ":" + e.Password
		r.add(base64.StdEncoding.EncodeToString([]byte(auth)))
		r.add(base64.RawStdEncoding.EncodeToString([]byte(auth)))
	}
}

func (r *redactor) add(v string) {
	if len(v) >= minSecretLen {
		r.values[v] = true
	}
}

// scrub replaces every remembered value in s.
func (r *redactor) scrub(s string) string {
	for v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// scrubFinding scrubs every text of f in place.
func (r *redactor) scrubFinding(f *Finding) {
	f.Summary = r.scrub(f.Summary)
	f.Explanation = r.scrub(f.Explanation)
	for i := range f.Fix {
		f.Fix[i] = r.scrub(f.Fix[i])
	}
}
