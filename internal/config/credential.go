package config

import (
	"net/url"
	"time"

	"github.com/rotatorhq/rotator/internal/pullsecret"
)

// Registry returns the canonical registry host written in the secrets and whether the configured
// value had to be normalised (a scheme or a /v2/ path), so the caller can say so.
func (c *Credential) Registry() (host string, normalised bool, err error) {
	raw := c.RegistryHost
	if raw == "" && c.GitLab != nil {
		return "", false, errRegistryHostRequired
	}
	if raw == "" && c.Harbor != nil {
		u, err := url.Parse(c.Harbor.URL)
		if err != nil {
			return "", false, err
		}
		raw = u.Host
	}
	return pullsecret.CanonicalHost(raw)
}

// defaultRenewFraction is renewBefore's default, 30%, and what RenewAt falls back to.
const defaultRenewFraction = 0.3

// RenewAt is when a credential issued at issued and expiring at expires becomes due.
// A credential that never expires is never due by age.
func (c *Credential) RenewAt(issued, expires time.Time) time.Time {
	if expires.IsZero() {
		return time.Time{}
	}
	life := expires.Sub(issued)
	frac, d, err := ParseRenewBefore(c.RenewBefore)
	if err != nil { // Validate refuses this; keep a safe answer anyway
		frac = defaultRenewFraction
	}
	if frac > 0 {
		d = time.Duration(float64(life) * frac)
	}
	if d >= life {
		// renewBefore >= lifetime (Validate refuses it, but a provider may also cut a lifetime
		// short): due the moment it is issued, so every check would issue another credential.
		d = time.Duration(float64(life) * defaultRenewFraction)
	}
	return expires.Add(-d)
}
