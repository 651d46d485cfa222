package registrytoken

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verify checks token the way the registry does (RS256 signature by this issuer's key, issuer,
// audience, validity at now) and returns its claims. It exists for tests: the registry itself
// needs only CertPEM.
func (i *Issuer) Verify(token string, now time.Time) (*Claims, error) {
	c := &Claims{}
	_, err := jwt.ParseWithClaims(token, c, func(*jwt.Token) (any, error) {
		return i.cert.PublicKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(i.issuer),
		jwt.WithAudience(i.service),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err != nil {
		return nil, fmt.Errorf("registrytoken: verify: %w", err)
	}
	return c, nil
}

// Actions returns the actions c grants on the resource of type typ named name, or nil.
func (c *Claims) Actions(typ, name string) []string {
	var out []string
	for _, a := range c.Access {
		if a.Type == typ && a.Name == name {
			out = append(out, a.Actions...)
		}
	}
	return out
}
