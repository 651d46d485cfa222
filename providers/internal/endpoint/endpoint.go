// Package endpoint is what both providers do with the API endpoint a config names: check its
// base URL, and when it cannot be reached, say which setting to fix.
package endpoint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// Endpoint names one provider's API for messages.
type Endpoint struct {
	System string // "Harbor", "GitLab"
	// Field is the config key of its settings: Field.url, Field.caFile, Field.insecureSkipVerify.
	Field string
	URL   string // the base URL, redacted
}

// ParseBaseURL accepts the base URL raw with or without a trailing apiPath (e.g. /api/v2.0) and
// returns it without. credentialsHint says where credentials go instead of the URL.
func (e Endpoint) ParseBaseURL(raw, apiPath, credentialsHint string) (*url.URL, error) {
	example := "https://" + e.Field + ".example.com"
	if raw == "" {
		return nil, fmt.Errorf("%s: url is required, e.g. %s", e.Field, example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input; it may hold a password, so do not wrap its error.
		return nil, fmt.Errorf("%s: url is not a valid URL, e.g. %s", e.Field, example)
	}
	var problems []string
	if u.Scheme != "http" && u.Scheme != "https" {
		problems = append(problems, "the scheme must be https:// (or http:// for a local test "+e.System+")")
	}
	if u.Host == "" {
		problems = append(problems, "it has no host")
	}
	if u.User != nil {
		problems = append(problems, "it must not hold credentials: "+credentialsHint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		problems = append(problems, "it must not have a query or fragment")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: url %q: %s", e.Field, u.Redacted(), strings.Join(problems, "; "))
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), apiPath)
	u.RawPath = ""
	return u, nil
}

// ExplainConnError describes a failure to reach the API (TLS, DNS, refused, timeout, network)
// for the call what, naming the setting to check. ok is false when err is none of those.
func (e Endpoint) ExplainConnError(what string, err error) (_ error, ok bool) {
	var (
		hostname         x509.HostnameError
		unknownAuthority x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		dnsErr           *net.DNSError
		netErr           net.Error
	)
	var msg string
	switch {
	case errors.As(err, &hostname):
		msg = fmt.Sprintf("%s at %s presented a TLS certificate that is not valid for its host name: "+
			"use the host name the certificate was issued for in %s.url", e.System, e.URL, e.Field)
	case errors.As(err, &unknownAuthority) || errors.As(err, &invalidCert) || errors.As(err, &verification):
		msg = fmt.Sprintf("%s at %s presented a TLS certificate the rotator does not trust: set %s.caFile to the "+
			"CA bundle of %s's certificate (or %s.insecureSkipVerify, for a test %s only)", e.System, e.URL, e.Field, e.System, e.Field, e.System)
	case errors.As(err, &recordHeader):
		msg = fmt.Sprintf("%s at %s did not answer TLS: check http:// versus https:// in %s.url", e.System, e.URL, e.Field)
	case errors.As(err, &dnsErr):
		msg = fmt.Sprintf("cannot resolve the host of %s: check %s.url and DNS", e.URL, e.Field)
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = fmt.Sprintf("%s at %s refused the connection: check the URL and port in %s.url and that %s is running",
			e.System, e.URL, e.Field, e.System)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		msg = fmt.Sprintf("%s at %s did not answer in time: check the network path (proxy, firewall) and %s's health",
			e.System, e.URL, e.System)
	case errors.As(err, &netErr):
		msg = fmt.Sprintf("cannot reach %s at %s: check %s.url and the network path (proxy, firewall)", e.System, e.URL, e.Field)
	default:
		return err, false
	}
	return fmt.Errorf("%s: %s: %w", what, msg, err), true
}
