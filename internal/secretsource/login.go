package secretsource

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"

	"github.com/rotatorhq/rotator/internal/config"
)

// loginMethod obtains a token. Every login reads its inputs again (token file, projected
// ServiceAccount token, secret id file), because those are rotated underneath the rotator.
type loginMethod interface {
	login(ctx context.Context, c *api.Client) (loginResult, error)
	name() string
	// mount of the auth method, for messages ("" for a given token).
	mount() string
	// loginFix says what to check when Vault refuses the login.
	loginFix() string
}

// loginResult is a token and what Vault said about its lifetime.
type loginResult struct {
	token     string
	ttl       time.Duration // 0: never expires (a root token)
	renewable bool
	// secret is what a LifetimeWatcher renews.
	secret *api.Secret
}

func (r loginResult) expiry(now time.Time) time.Time {
	if r.ttl <= 0 {
		return time.Time{}
	}
	return now.Add(r.ttl)
}

func newLoginMethod(a config.VaultAuth, lookupEnv func(string) (string, bool)) (loginMethod, error) {
	switch {
	case a.Token != nil:
		return &tokenLogin{env: a.Token.Env, file: a.Token.File, lookupEnv: lookupEnv}, nil
	case a.Kubernetes != nil:
		return &kubernetesLogin{cfg: *a.Kubernetes}, nil
	case a.AppRole != nil:
		return &appRoleLogin{cfg: *a.AppRole}, nil
	}
	return nil, fmt.Errorf("vault.auth: set one of token, kubernetes or appRole")
}

// tokenLogin uses a token handed to the rotator. "Logging in" reads it again and asks Vault
// about it (auth/token/lookup-self, allowed by Vault's default policy): its TTL, whether it is
// renewable, and whether it is still valid at all.
type tokenLogin struct {
	env, file string
	lookupEnv func(string) (string, bool)
}

func (t *tokenLogin) name() string  { return "token" }
func (t *tokenLogin) mount() string { return "auth/token" }
func (t *tokenLogin) source() string {
	if t.file != "" {
		return "file " + t.file
	}
	return "environment variable " + t.env
}
func (t *tokenLogin) loginFix() string {
	return "check the token in " + t.source()
}

func (t *tokenLogin) login(ctx context.Context, c *api.Client) (loginResult, error) {
	tok, err := t.read()
	if err != nil {
		return loginResult{}, err
	}
	c.SetToken(tok)
	self, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if isForbidden(err) {
		_, detail := classify(err)
		why := ""
		if !strings.Contains(detail, "invalid token") {
			why = " (or it lacks Vault's default policy, which allows auth/token/lookup-self)"
		}
		return loginResult{}, &Error{Kind: ErrTokenExpired, Op: "log in", Auth: "auth/token", Detail: detail,
			Fix: "the token from " + t.source() + " has expired or was revoked, and a given token cannot be renewed after that" + why +
				": give the rotator a fresh token, or use vault.auth.kubernetes or vault.auth.appRole, which log in again by themselves"}
	}
	if err != nil {
		return loginResult{}, err
	}
	ttl, _ := self.TokenTTL()
	renewable, _ := self.TokenIsRenewable()
	res := loginResult{token: tok, ttl: ttl, renewable: renewable}
	if renewable && ttl > 0 {
		res.secret = &api.Secret{Auth: &api.SecretAuth{ClientToken: tok, Renewable: true, LeaseDuration: int(ttl.Seconds())}}
	}
	return res, nil
}

func (t *tokenLogin) read() (string, error) {
	if t.file != "" {
		b, err := os.ReadFile(t.file)
		if err != nil {
			return "", &Error{Kind: ErrLogin, Op: "log in", Auth: "auth/token", Detail: "read the token file: " + err.Error(),
				Fix: "check vault.auth.token.file (" + t.file + ")"}
		}
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
		return "", &Error{Kind: ErrLogin, Op: "log in", Auth: "auth/token", Detail: "the token file " + t.file + " is empty", Fix: "write the token into it"}
	}
	if tok, ok := t.lookupEnv(t.env); ok && strings.TrimSpace(tok) != "" {
		return strings.TrimSpace(tok), nil
	}
	return "", &Error{Kind: ErrLogin, Op: "log in", Auth: "auth/token", Detail: "environment variable " + t.env + " is not set",
		Fix: "set it to a Vault token, or configure vault.auth.token.file, kubernetes or appRole"}
}

// kubernetesLogin presents the ServiceAccount token; Vault checks it with a TokenReview.
type kubernetesLogin struct{ cfg config.VaultKubernetesAuth }

func (k *kubernetesLogin) name() string  { return "kubernetes" }
func (k *kubernetesLogin) mount() string { return "auth/" + k.cfg.Mount }
func (k *kubernetesLogin) loginFix() string {
	return fmt.Sprintf("check that Vault role %q exists at auth/%s and is bound to the rotator's ServiceAccount and namespace, "+
		"that %s holds that ServiceAccount's token, and that Vault can reach the API server for its TokenReview",
		k.cfg.Role, k.cfg.Mount, k.cfg.TokenFile)
}

func (k *kubernetesLogin) login(ctx context.Context, c *api.Client) (loginResult, error) {
	// Built at each login: the helper reads the token file when constructed, and the kubelet
	// replaces a projected token long before the rotator restarts.
	m, err := kubernetes.NewKubernetesAuth(k.cfg.Role,
		kubernetes.WithServiceAccountTokenPath(k.cfg.TokenFile), kubernetes.WithMountPath(k.cfg.Mount))
	if err != nil {
		return loginResult{}, &Error{Kind: ErrLogin, Op: "log in", Auth: k.mount(), Detail: "read the ServiceAccount token: " + stripToken(err),
			Fix: "check vault.auth.kubernetes.tokenFile (" + k.cfg.TokenFile + "): mount a projected ServiceAccount token there"}
	}
	return authLogin(ctx, c, m)
}

// appRoleLogin presents a role id and a secret id read from a file.
type appRoleLogin struct{ cfg config.VaultAppRoleAuth }

func (a *appRoleLogin) name() string  { return "approle" }
func (a *appRoleLogin) mount() string { return "auth/" + a.cfg.Mount }
func (a *appRoleLogin) loginFix() string {
	return fmt.Sprintf("check vault.auth.appRole.roleId and the secret id in %s (not expired, uses left) for the AppRole at auth/%s",
		a.cfg.SecretIDFile, a.cfg.Mount)
}

func (a *appRoleLogin) login(ctx context.Context, c *api.Client) (loginResult, error) {
	if _, err := os.Stat(a.cfg.SecretIDFile); err != nil {
		return loginResult{}, &Error{Kind: ErrLogin, Op: "log in", Auth: a.mount(), Detail: err.Error(),
			Fix: "check vault.auth.appRole.secretIdFile (" + a.cfg.SecretIDFile + ")"}
	}
	m, err := approle.NewAppRoleAuth(a.cfg.RoleID, &approle.SecretID{FromFile: a.cfg.SecretIDFile}, approle.WithMountPath(a.cfg.Mount))
	if err != nil {
		return loginResult{}, &Error{Kind: ErrLogin, Op: "log in", Auth: a.mount(), Detail: err.Error(), Fix: a.loginFix()}
	}
	return authLogin(ctx, c, m)
}

func authLogin(ctx context.Context, c *api.Client, m api.AuthMethod) (loginResult, error) {
	s, err := c.Auth().Login(ctx, m)
	if err != nil {
		return loginResult{}, err
	}
	return loginResult{token: s.Auth.ClientToken, ttl: time.Duration(s.Auth.LeaseDuration) * time.Second,
		renewable: s.Auth.Renewable, secret: s}, nil
}

// stripToken keeps a JWT out of a message, should a helper ever quote one.
func stripToken(err error) string {
	msg := err.Error()
	if strings.Count(msg, ".") >= 2 && strings.Contains(msg, "eyJ") {
		return "the token file could not be used"
	}
	return msg
}
