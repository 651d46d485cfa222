// Package secretsource reads the secrets the rotator's config points at (a Harbor password, a
// GitLab token): from an environment variable, a file (a mounted Kubernetes Secret), or a key of
// a HashiCorp Vault KV version 2 secret. Every read goes to the source again, so a value changed
// there is used by the next rotation without a restart. Values never appear in errors or logs.
//
// It also writes issued credentials back to Vault (Vault.WriteKV) for clients outside the
// cluster.
package secretsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rotatorhq/rotator/internal/config"
)

// Resolver returns the value a config.SecretRef points at, read afresh at each call.
type Resolver interface {
	Read(ctx context.Context, ref config.SecretRef) (string, error)
}

// Options of Sources and Vault. The zero value is usable.
type Options struct {
	// Logger receives Vault logins and renewals (never a token or a value). Nil: silent.
	Logger *slog.Logger
	// LookupEnv reads environment variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Now is the clock for token lifetimes; nil means time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Sources is the Resolver of one config: environment, files and, when the config has a vault
// section, Vault.
type Sources struct {
	vault     *Vault
	lookupEnv func(string) (string, bool)
}

var _ Resolver = (*Sources)(nil)

// New builds the sources for a config whose vault section is vc (nil: no Vault). It makes no
// request. ctx bounds the background renewal of the Vault token; Close stops it earlier.
func New(ctx context.Context, vc *config.Vault, o Options) (*Sources, error) {
	o.defaults()
	s := &Sources{lookupEnv: o.LookupEnv}
	if vc != nil {
		v, err := NewVault(ctx, vc, o)
		if err != nil {
			return nil, err
		}
		s.vault = v
	}
	return s, nil
}

// Vault is the configured Vault, or nil when the config has no vault section.
func (s *Sources) Vault() *Vault { return s.vault }

// Close stops the Vault token renewal, if any.
func (s *Sources) Close() {
	if s.vault != nil {
		s.vault.Close()
	}
}

// Read returns the secret ref points at, read now.
func (s *Sources) Read(ctx context.Context, ref config.SecretRef) (string, error) {
	switch {
	case ref.Env != "":
		return readEnv(s.lookupEnv, ref.Env)
	case ref.File != "":
		return readFile(ref.File)
	case ref.Vault != nil:
		if s.vault == nil {
			return "", fmt.Errorf("the secret is kept in Vault (path %s, key %s) but no Vault client is configured here: set the top-level vault section (address, auth)", ref.Vault.Path, ref.Vault.Key)
		}
		return s.vault.ReadKV(ctx, *ref.Vault)
	}
	return "", errors.New("no secret source configured: set env, file or vault")
}
