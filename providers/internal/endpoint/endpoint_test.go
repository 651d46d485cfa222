package endpoint

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

var harbor = Endpoint{System: "Harbor", Field: "harbor", URL: "https://harbor.example.com"}

func TestParseBaseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://harbor.example.com":           "https://harbor.example.com",
		"https://harbor.example.com/":          "https://harbor.example.com",
		"https://harbor.example.com/api/v2.0":  "https://harbor.example.com",
		"https://example.com/harbor/api/v2.0/": "https://example.com/harbor",
		"http://127.0.0.1:8080":                "http://127.0.0.1:8080",
	} {
		u, err := harbor.ParseBaseURL(raw, "/api/v2.0", "set username and password instead")
		if err != nil || u.String() != want {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want %s", raw, u, err, want)
		}
	}
	for raw, wants := range map[string][]string{
		"":                                  {"harbor: url is required, e.g. https://harbor.example.com"},
		"ftp://u:secret@h.example.com/?q=1": {"scheme must be https://", "must not hold credentials: set username", "query", "ftp://u:xxxxx@"},
		"https://":                          {"has no host"},
		"://%zz":                            {"not a valid URL"},
	} {
		_, err := harbor.ParseBaseURL(raw, "/api/v2.0", "set username and password instead")
		if err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseBaseURL(%q): the error shows the password: %v", raw, err)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseBaseURL(%q) = %v, want it to say %q", raw, err, w)
			}
		}
	}
}

func TestExplainConnErrorNamesTheSetting(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for name, c := range map[string]struct {
		err  error
		want string
	}{
		"refused":   {refused, "Harbor at https://harbor.example.com refused the connection: check the URL and port in harbor.url"},
		"untrusted": {x509.UnknownAuthorityError{}, "set harbor.caFile to the CA bundle of Harbor's certificate (or harbor.insecureSkipVerify"},
		"hostname":  {x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}, "not valid for its host name"},
		"dns":       {&net.DNSError{Err: "no such host", Name: "harbor.example.com"}, "check harbor.url and DNS"},
		"timeout":   {fmt.Errorf("get: %w", context.DeadlineExceeded), "did not answer in time"},
	} {
		got, ok := harbor.ExplainConnError("list robots", c.err)
		if !ok || !strings.HasPrefix(got.Error(), "list robots: ") || !strings.Contains(got.Error(), c.want) || !errors.Is(got, c.err) {
			t.Errorf("%s: %v (ok %v), want it to say %q and wrap the cause", name, got, ok, c.want)
		}
	}
	if _, ok := harbor.ExplainConnError("list robots", errors.New("decode: bad JSON")); ok {
		t.Error("a decode error was explained as a connection failure")
	}
}
