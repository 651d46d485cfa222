package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotatorhq/rotator/internal/config"
	"github.com/rotatorhq/rotator/internal/transport"
	"github.com/rotatorhq/rotator/providers"
)

type fixedSecret string

func (f fixedSecret) Read(context.Context, config.SecretRef) (string, error) { return string(f), nil }

// The providers' API clients stop reading an answer larger than transport.MaxAPIResponse: a
// broken or hostile server cannot grow the rotator's memory without bound.
func TestProviderAnswersAreBounded(t *testing.T) {
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[")
		chunk := strings.Repeat(" ", 1<<20)
		for i := 0; i <= transport.MaxAPIResponse>>20; i++ {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, "]")
	}))
	defer endless.Close()
	for _, c := range []config.Credential{
		{Name: "h", Provider: "harbor", Harbor: &config.Harbor{URL: endless.URL, Username: "admin", Projects: []string{"p"}}},
		{Name: "g", Provider: "gitlab", GitLab: &config.GitLab{URL: endless.URL, Project: "team/app", TokenKind: "deployToken"}},
	} {
		t.Run(c.Provider, func(t *testing.T) {
			p, _, err := newProviderFrom(&c, nil, fixedSecret("not-a-real-password"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.List(context.Background(), providers.Spec{Credential: c.Name, NamePrefix: "rotator-" + c.Name + "-", Projects: []string{"p"}})
			if err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Errorf("a %d-byte answer: error %v, want one saying it is too large", transport.MaxAPIResponse+1<<20, err)
			}
		})
	}
}
