// Package registrytoken issues the bearer tokens of the Docker registry token authentication
// protocol (distribution's docs/spec/auth/token.md and jwt.md): the part of Harbor core that a
// real CNCF distribution registry (v3 in the sandbox, 2.8 before it), configured with auth.token
// {realm, service, issuer, rootcertbundle}, trusts. The sandbox's Harbor double serves it at /service/token.
package registrytoken

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer signs registry tokens with an RSA key whose self-signed certificate is the registry's
// rootcertbundle. It is safe for concurrent use: it holds no mutable state.
type Issuer struct {
	issuer, service string
	key             *rsa.PrivateKey
	cert            *x509.Certificate
}

// NewIssuer generates an RSA 2048 key and a self-signed certificate for it. issuer is the
// token's iss claim and must equal the registry's auth.token.issuer; service is the aud claim
// and must equal auth.token.service ("harbor-registry" for Harbor).
func NewIssuer(issuer, service string) (*Issuer, error) {
	if issuer == "" || service == "" {
		return nil, errors.New("registrytoken: issuer and service are required")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("registrytoken: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("registrytoken: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: issuer},
		// An hour of slack before now: the registry checks the certificate against its own
		// clock, which may lag ours a little.
		NotBefore: now.Add(-time.Hour),
		// Long enough for any sandbox or demo; the key never leaves the process.
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		// The certificate is both the signer (x5c leaf) and the root the registry trusts.
		IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("registrytoken: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("registrytoken: parse certificate: %w", err)
	}
	return &Issuer{issuer: issuer, service: service, key: key, cert: cert}, nil
}

// CertPEM returns the signing certificate in PEM, the content of the registry's
// auth.token.rootcertbundle file.
func (i *Issuer) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.cert.Raw})
}

// Certificate returns the signing certificate, for verifying tokens in tests.
func (i *Issuer) Certificate() *x509.Certificate { return i.cert }

// Issuer returns the iss claim of the tokens.
func (i *Issuer) Issuer() string { return i.issuer }

// Service returns the aud claim of the tokens (the registry's service name).
func (i *Issuer) Service() string { return i.service }

// Sign returns an RS256 JWT for subject granting access, valid from now for ttl. The header
// carries the certificate in x5c: distribution (2.8 and v3) verifies that chain against its
// rootcertbundle, so no key id has to be agreed on beforehand.
func (i *Issuer) Sign(subject string, access []Access, ttl time.Duration, now time.Time) (string, error) {
	if ttl <= 0 {
		return "", errors.New("registrytoken: ttl must be positive")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("registrytoken: jti: %w", err)
	}
	if access == nil {
		// The registry reads a missing claim as no access too, but an explicit [] matches Harbor.
		access = []Access{}
	}
	c := &Claims{
		Issuer:    i.issuer,
		Subject:   subject,
		Audience:  i.service,
		ExpiresAt: now.Add(ttl).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		ID:        hex.EncodeToString(jti),
		Access:    normalize(access),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["x5c"] = []string{base64.StdEncoding.EncodeToString(i.cert.Raw)}
	s, err := tok.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("registrytoken: sign: %w", err)
	}
	return s, nil
}

// normalize copies access so that every entry has a non-nil Actions: the claim then reads
// "actions":[] rather than null, as Harbor writes it for a denied scope.
func normalize(access []Access) []Access {
	out := make([]Access, len(access))
	for n, a := range access {
		out[n] = Access{Type: a.Type, Name: a.Name, Actions: append([]string{}, a.Actions...)}
	}
	return out
}
