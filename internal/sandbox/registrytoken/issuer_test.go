package registrytoken

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newTestIssuer(t *testing.T) *Issuer {
	t.Helper()
	iss, err := NewIssuer("harbor-token-issuer", "harbor-registry")
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// TestSignVerifiesAsTheRegistryDoes checks a token by hand the way distribution (2.8, v3) does:
// header fields, x5c chain against the rootcertbundle, RS256 signature with the leaf's key,
// then the claims.
func TestSignVerifiesAsTheRegistryDoes(t *testing.T) {
	iss := newTestIssuer(t)
	access := []Access{{Type: "repository", Name: "proj/app", Actions: []string{"pull"}}}
	tok, err := iss.Sign("robot$proj+ci", access, 30*time.Minute, t0)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}

	var header struct {
		Typ string   `json:"typ"`
		Alg string   `json:"alg"`
		X5C []string `json:"x5c"`
	}
	decodeSegment(t, parts[0], &header)
	if header.Typ != "JWT" || header.Alg != "RS256" || len(header.X5C) != 1 {
		t.Fatalf("header = %+v", header)
	}

	// The x5c leaf must chain to the rootcertbundle.
	der, err := base64.StdEncoding.DecodeString(header.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	block, _ := pem.Decode(iss.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("CertPEM is not a PEM certificate")
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(root)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("x5c does not chain to the root bundle: %v", err)
	}

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}

	var claims map[string]any
	decodeSegment(t, parts[1], &claims)
	want := map[string]any{
		"iss": "harbor-token-issuer", "sub": "robot$proj+ci", "aud": "harbor-registry",
		"exp": float64(t0.Add(30 * time.Minute).Unix()), "nbf": float64(t0.Unix()), "iat": float64(t0.Unix()),
		"access": []any{map[string]any{"type": "repository", "name": "proj/app", "actions": []any{"pull"}}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(claims[k], v) {
			t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
		}
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("jti is empty")
	}
}

func TestVerify(t *testing.T) {
	iss := newTestIssuer(t)
	tok, err := iss.Sign("admin", nil, time.Minute, t0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := iss.Verify(tok, t0.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "admin" || c.Access == nil || len(c.Access) != 0 {
		t.Fatalf("claims = %+v, want subject admin and an empty, non-nil access", c)
	}
	if _, err := iss.Verify(tok, t0.Add(2*time.Minute)); err == nil {
		t.Error("expired token verified")
	}
	other := newTestIssuer(t)
	if _, err := other.Verify(tok, t0); err == nil {
		t.Error("token verified with another issuer's key")
	}
	if _, err := iss.Sign("admin", nil, 0, t0); err == nil {
		t.Error("zero ttl accepted")
	}
}

// Two tokens for the same request differ (jti), so a registry cache never confuses them.
func TestSignUniqueID(t *testing.T) {
	iss := newTestIssuer(t)
	a, _ := iss.Sign("admin", nil, time.Minute, t0)
	b, _ := iss.Sign("admin", nil, time.Minute, t0)
	ca, err := iss.Verify(a, t0)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := iss.Verify(b, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ca.ID == cb.ID {
		t.Error("two tokens share a jti")
	}
}

func TestWriteTokenResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteTokenResponse(rec, "abc.def.ghi", 30*time.Minute, t0)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"token": "abc.def.ghi", "access_token": "abc.def.ghi",
		"expires_in": float64(1800), "issued_at": "2026-11-24T12:00:00Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body = %v, want %v", got, want)
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
