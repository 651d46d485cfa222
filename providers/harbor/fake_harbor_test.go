package harbor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// fakeHarbor is a small Harbor API v2.0 double following the swagger of go-client v0.213.1: it
// serves the calls the provider makes and records every request (method, escaped path, query,
// headers, body) for the tests to assert on.
type fakeHarbor struct {
	t          *testing.T
	user, pass string
	created    time.Time // creation_time of every robot it creates

	mu       sync.Mutex
	projects map[string]int64
	robots   map[int64]*fakeRobot
	nextID   int64
	requests []recorded
	// fail holds answers sent, in order, before the real handler runs, keyed "METHOD /path".
	fail map[string][]fakeAnswer
	// late is how far the clock of newTestProvider has moved from fakeNow: Harbor answers a
	// failed login 1.5 s late, so every 401 moves it (see APIError.Quick).
	late time.Duration

	srv *httptest.Server
}

type fakeRobot struct {
	models.Robot
	projectID int64
	dbName    string // the name as Harbor stores it: "proj+name" or "name", without prefix
}

type recorded struct {
	Method string
	Path   string // escaped
	Query  url.Values
	Header http.Header
	Body   []byte
}

type fakeAnswer struct {
	status int
	header map[string]string
	body   string
}

const (
	fakeUser     = "admin"
	fakePassword = "Harbor12345-very-secret"
)

var fakeNow = time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)

func newFakeHarbor(t *testing.T, projects ...string) *fakeHarbor {
	t.Helper()
	f := &fakeHarbor{
		t: t, user: fakeUser, pass: fakePassword, created: fakeNow,
		projects: map[string]int64{},
		robots:   map[int64]*fakeRobot{},
		nextID:   41,
		fail:     map[string][]fakeAnswer{},
	}
	for i, p := range projects {
		f.projects[p] = int64(i + 7)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2.0/projects/{name}", f.getProject)
	mux.HandleFunc("POST /api/v2.0/robots", f.createRobot)
	mux.HandleFunc("GET /api/v2.0/robots", f.listRobots)
	mux.HandleFunc("GET /api/v2.0/robots/{id}", f.getRobot)
	mux.HandleFunc("DELETE /api/v2.0/robots/{id}", f.deleteRobot)
	mux.HandleFunc("GET /api/v2.0/users/current", f.currentUser)
	f.srv = httptest.NewServer(f.record(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// failNext makes the next calls to "METHOD /path" answer with these statuses first.
func (f *fakeHarbor) failNext(key string, answers ...fakeAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[key] = append(f.fail[key], answers...)
}

// addRobot stores a robot as if Harbor had created it; project "" makes a system robot.
func (f *fakeHarbor) addRobot(project, name string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addRobotLocked(project, name, -1)
}

func (f *fakeHarbor) addRobotLocked(project, name string, days int64) int64 {
	f.nextID++
	r := &fakeRobot{dbName: name}
	r.ID = f.nextID
	r.Level = "system"
	if project != "" {
		r.Level = "project"
		r.projectID = f.projects[project]
		r.dbName = project + "+" + name
		r.Permissions = []*models.RobotPermission{{Kind: "project", Namespace: project,
			Access: []*models.Access{{Resource: "repository", Action: "pull"}}}}
	}
	r.Name = "robot$" + r.dbName
	r.CreationTime = strfmt.DateTime(f.created)
	r.ExpiresAt = -1
	if days > 0 {
		r.ExpiresAt = f.created.AddDate(0, 0, int(days)).Unix()
	}
	r.Duration = &days
	f.robots[r.ID] = r
	return r.ID
}

func (f *fakeHarbor) requestsTo(method, path string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.Method == method && (path == "" || r.Path == path) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeHarbor) allRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func (f *fakeHarbor) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		key := r.Method + " " + r.URL.EscapedPath()

		f.mu.Lock()
		f.requests = append(f.requests, recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
		})
		var answer *fakeAnswer
		if queue := f.fail[key]; len(queue) > 0 {
			answer, f.fail[key] = &queue[0], queue[1:]
		}
		f.mu.Unlock()

		if answer != nil && answer.status == http.StatusUnauthorized {
			f.sleepForFailedLogin()
		}
		if answer != nil {
			for k, v := range answer.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(answer.status)
			_, _ = io.WriteString(w, answer.body)
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
			// Harbor takes bad credentials for anonymous, and anonymous gets 401 here.
			f.sleepForFailedLogin()
			harborError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sleepForFailedLogin plays Harbor's 1.5 s sleep before it refuses a login.
func (f *fakeHarbor) sleepForFailedLogin() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.late += failedLoginDelay
}

// now is the test provider's clock: fakeNow, moved by failed logins.
func (f *fakeHarbor) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeNow.Add(f.late)
}

func harborError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(models.Errors{Errors: []*models.Error{{Code: code, Message: msg}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeHarbor) getProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f.mu.Lock()
	id, ok := f.projects[name]
	f.mu.Unlock()
	if r.Header.Get("X-Is-Resource-Name") != "true" {
		harborError(w, http.StatusBadRequest, "BAD_REQUEST", "fake: X-Is-Resource-Name missing")
		return
	}
	if !ok {
		harborError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", name))
		return
	}
	writeJSON(w, http.StatusOK, models.Project{ProjectID: int32(id), Name: name})
}

var harborRobotName = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func (f *fakeHarbor) createRobot(w http.ResponseWriter, r *http.Request) {
	var req models.RobotCreate
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		harborError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	switch {
	case !harborRobotName.MatchString(req.Name):
		harborError(w, http.StatusBadRequest, "BAD_REQUEST", "robot name is not in lower case or contains illegal characters")
		return
	case req.Level != "project" && req.Level != "system", len(req.Permissions) == 0,
		req.Level == "project" && len(req.Permissions) != 1, req.Duration < -1:
		harborError(w, http.StatusBadRequest, "BAD_REQUEST", "bad request")
		return
	}
	project := ""
	if req.Level == "project" {
		project = req.Permissions[0].Namespace
	}
	f.mu.Lock()
	if _, ok := f.projects[project]; project != "" && !ok {
		f.mu.Unlock()
		harborError(w, http.StatusNotFound, "NOT_FOUND", "project not found")
		return
	}
	id := f.addRobotLocked(project, req.Name, req.Duration)
	rb := f.robots[id]
	rb.Description = req.Description
	rb.Permissions = req.Permissions
	f.mu.Unlock()

	w.Header().Set("Location", fmt.Sprintf("/api/v2.0/robots/%d", id))
	writeJSON(w, http.StatusCreated, models.RobotCreated{
		ID: id, Name: rb.Name, Secret: fmt.Sprintf("Secret%dXyz", id),
		CreationTime: rb.CreationTime, ExpiresAt: rb.ExpiresAt,
	})
}

func (f *fakeHarbor) listRobots(w http.ResponseWriter, r *http.Request) {
	q := map[string]string{}
	for _, kv := range strings.Split(r.URL.Query().Get("q"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			q[k] = v
		}
	}
	level := q["Level"]
	if level == "" {
		level = "system"
	}
	if level == "project" && q["ProjectID"] == "" {
		harborError(w, http.StatusBadRequest, "BAD_REQUEST", "must with project ID when to query project robots")
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
	page, size = max(page, 1), max(size, 1)

	f.mu.Lock()
	var match []*fakeRobot
	for _, rb := range f.robots {
		pid := strconv.FormatInt(rb.projectID, 10)
		if rb.Level != level || level == "project" && pid != q["ProjectID"] {
			continue
		}
		if fuzzy, ok := strings.CutPrefix(q["Name"], "~"); ok && !strings.Contains(rb.dbName, fuzzy) {
			continue
		}
		match = append(match, rb)
	}
	f.mu.Unlock()
	slices.SortFunc(match, func(a, b *fakeRobot) int { return int(a.ID - b.ID) })

	from, to := min((page-1)*size, len(match)), min(page*size, len(match))
	out := []models.Robot{}
	for _, rb := range match[from:to] {
		out = append(out, rb.Robot)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(match)))
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeHarbor) robotByPath(w http.ResponseWriter, r *http.Request) (int64, *fakeRobot) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		harborError(w, http.StatusBadRequest, "BAD_REQUEST", "bad id")
		return 0, nil
	}
	f.mu.Lock()
	rb := f.robots[id]
	f.mu.Unlock()
	if rb == nil {
		harborError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("robot %d not found", id))
	}
	return id, rb
}

func (f *fakeHarbor) getRobot(w http.ResponseWriter, r *http.Request) {
	if _, rb := f.robotByPath(w, r); rb != nil {
		writeJSON(w, http.StatusOK, rb.Robot)
	}
}

func (f *fakeHarbor) deleteRobot(w http.ResponseWriter, r *http.Request) {
	if id, rb := f.robotByPath(w, r); rb != nil {
		f.mu.Lock()
		delete(f.robots, id)
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}
}

func (f *fakeHarbor) currentUser(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(f.user, "robot$") {
		harborError(w, http.StatusPreconditionFailed, "PRECONDITION",
			"get current user not available for security context: robot")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_id": 1, "username": f.user})
}

// sleeps records the retry delays instead of sleeping.
type sleeps struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
	return nil
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delays)
}

// newTestProvider returns a provider talking to f, with a fixed clock and recorded sleeps.
func newTestProvider(t *testing.T, f *fakeHarbor, opts ...func(*Options)) (*Provider, *sleeps) {
	t.Helper()
	o := Options{
		URL: f.srv.URL, Username: fakeUser, Password: fakePassword,
		Transport: http.DefaultTransport, Now: f.now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := &sleeps{}
	p.retry.Sleep = s.sleep
	return p, s
}
