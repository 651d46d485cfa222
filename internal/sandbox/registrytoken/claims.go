package registrytoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access is one entry of the token's access claim: a resource and the actions granted on it,
// e.g. {Type: "repository", Name: "proj/app", Actions: ["pull"]}.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Claims is the claim set of a registry token. It is its own type rather than
// jwt.RegisteredClaims because the audience must serialize as a plain string: that is the form
// verified end to end against distribution 2.8 and v3 (jwt/v5 writes a one-element array by default).
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	Access    []Access `json:"access"`
}

var _ jwt.Claims = (*Claims)(nil)

func numericDate(s int64) *jwt.NumericDate { return jwt.NewNumericDate(time.Unix(s, 0)) }

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt), nil }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return numericDate(c.IssuedAt), nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore), nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Audience}, nil }
