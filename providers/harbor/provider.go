// Package harbor issues and revokes pull-only Harbor robot accounts for the rotator.
//
// Every credential is a brand-new robot. Harbor's "refresh secret" (PATCH /robots/{id}) replaces
// the one secret a robot has and the old one dies at once, which would break every pod still
// pulling with it; so the rotator creates a second robot, distributes it, and deletes the first
// one later. This package never calls RefreshSec.
package harbor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/robot"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/systeminfo"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/user"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	"github.com/rotatorhq/rotator/providers"
	"github.com/rotatorhq/rotator/providers/internal/endpoint"
	"github.com/rotatorhq/rotator/providers/internal/retry"
)

// DefaultRobotPrefix is Harbor's default ROBOT_NAME_PREFIX, put before every robot's stored name.
const DefaultRobotPrefix = "robot$"

// apiBasePath is where Harbor serves API v2.0 below its base URL.
const apiBasePath = "/api/v2.0"

// Options configure a Provider.
type Options struct {
	// URL is Harbor's base URL, e.g. https://harbor.example.com or http://127.0.0.1:8080.
	// A trailing /api/v2.0 is accepted. It must not carry credentials.
	URL string
	// Username and Password identify a Harbor user (or a robot) allowed to manage robots: the
	// project admin of the project for single-project credentials, a system admin for
	// multi-project ones (a system-level robot needs one); a robot account from Harbor 2.12 on,
	// holding robot create/list/read/delete and repository pull where it creates robots (a
	// system-level robot creating project robots only from 2.14.1). In OIDC mode only the local
	// admin or a robot. docs/compatibility.md has the table. The password is never logged nor
	// put into an error.
	Username, Password string
	// PasswordFunc, when set, replaces Password: it is asked at every request, so a password
	// changed where it is kept (Vault, a mounted Secret) is used without a restart. Its errors
	// are reported as a *PasswordError, never as Harbor's or the network's.
	PasswordFunc func(ctx context.Context) (string, error)
	// Transport carries every request. The caller builds it (CA bundle, proxy, explicit
	// insecureSkipVerify). Nil means http.DefaultTransport, which verifies TLS. Never pass the
	// go-client's pkg/harbor default: it turns TLS verification off.
	Transport http.RoundTripper
	// Now is the clock used for robot names and Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Logger receives retries, creations and deletions; nil logs nothing.
	Logger *slog.Logger
	// RobotPrefix is an optional hint of the Harbor's robot_name_prefix setting. The provider
	// works with any prefix without it: a create answer shows the real one, and names are split
	// without it (see names.go); the hint only settles, until the first create, a system robot
	// name that another credential's names could also explain.
	RobotPrefix string
}

// Provider issues and revokes pull-only robot accounts on one Harbor. It is safe for concurrent use.
type Provider struct {
	url   string // Harbor's base URL as configured (redacted), for messages
	user  string
	now   func() time.Time
	log   *slog.Logger
	retry retry.Policy

	robots   robotAPI
	projects projectAPI
	users    userAPI
	system   systemAPI
	// anonymous reads Harbor's public system info without credentials: after a 401, another
	// request with the same credentials would be one more failed login (see login.go).
	anonymous func(ctx context.Context) (*models.GeneralInfo, error)

	mu         sync.Mutex
	hintPrefix string // Options.RobotPrefix
	seenPrefix string // the robot prefix of the last create answer
}

var _ providers.Provider = (*Provider)(nil)

// robotAPI, projectAPI and userAPI are the few go-client calls the provider makes.
type robotAPI interface {
	CreateRobot(ctx context.Context, params *robot.CreateRobotParams) (*robot.CreateRobotCreated, error)
	DeleteRobot(ctx context.Context, params *robot.DeleteRobotParams) (*robot.DeleteRobotOK, error)
	GetRobotByID(ctx context.Context, params *robot.GetRobotByIDParams) (*robot.GetRobotByIDOK, error)
	ListRobot(ctx context.Context, params *robot.ListRobotParams) (*robot.ListRobotOK, error)
}

type projectAPI interface {
	GetProject(ctx context.Context, params *project.GetProjectParams) (*project.GetProjectOK, error)
}

type userAPI interface {
	GetCurrentUserInfo(ctx context.Context, params *user.GetCurrentUserInfoParams) (*user.GetCurrentUserInfoOK, error)
}

type systemAPI interface {
	GetSystemInfo(ctx context.Context, params *systeminfo.GetSystemInfoParams) (*systeminfo.GetSystemInfoOK, error)
}

// New checks o and builds a Provider. It makes no request; call Ping to check reachability and
// credentials. All problems with o are reported at once.
func New(o Options) (*Provider, error) {
	var problems []error
	base, err := endpoint.Endpoint{System: "Harbor", Field: "harbor"}.ParseBaseURL(o.URL, apiBasePath, "set username and password instead")
	if err != nil {
		problems = append(problems, err)
	}
	if o.Username == "" {
		problems = append(problems, errors.New("harbor: username is required"))
	}
	if o.Password == "" && o.PasswordFunc == nil {
		problems = append(problems, errors.New("harbor: password is required"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	apiURL := *base
	apiURL.Path = strings.TrimSuffix(base.Path, "/") + apiBasePath
	// client.New, not pkg/harbor.NewClientSet: the latter swaps in a transport that skips TLS
	// verification when none is given.
	plain := transport // without credentials, for anonymousSystemInfo
	authInfo, transport := basicAuth(o, transport)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	api := client.New(client.Config{
		URL:       &apiURL,
		Transport: statusTransport{next: transport, now: now},
		AuthInfo:  authInfo,
	})
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		// Not refused: a lab Harbor may be http only. But the admin password crosses the
		// network in clear text with every call, which someone reading the logs should know.
		logger.Warn("Harbor URL is plain http: the admin credentials are sent unencrypted", "provider", "harbor", "url", base.Redacted())
	}
	return &Provider{
		url:        base.Redacted(),
		user:       o.Username,
		now:        now,
		log:        logger.With("provider", "harbor"),
		retry:      retry.Default(),
		robots:     api.Robot,
		projects:   api.Project,
		users:      api.User,
		system:     api.Systeminfo,
		anonymous:  anonymousSystemInfo(apiURL, plain, now),
		hintPrefix: o.RobotPrefix,
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
