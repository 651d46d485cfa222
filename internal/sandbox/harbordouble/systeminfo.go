package harbordouble

import (
	"net/http"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// ping serves GET /ping: text "Pong", no authentication.
func (s *Server) ping(w http.ResponseWriter, _ *http.Request, _ string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("Pong"))
}

// systemInfo serves GET /systeminfo. As in Harbor, anyone may ask; the version, URLs and the
// rest of the "protected" part are only shown to an authenticated caller.
func (s *Server) systemInfo(w http.ResponseWriter, r *http.Request, _ string) {
	s.mu.Lock()
	who := s.authenticate(r)
	authMode, readOnly := s.authMode, s.readOnly
	s.mu.Unlock()
	str := func(v string) *string { return &v }
	bl := func(v bool) *bool { return &v }
	info := &models.GeneralInfo{
		AuthMode:         str(authMode),
		PrimaryAuthMode:  bl(false),
		SelfRegistration: bl(false),
		BannerMessage:    str(""),
		OIDCProviderName: str(""),
	}
	if who.authenticated() {
		now := strfmt.DateTime(s.now().UTC().Truncate(time.Millisecond))
		info.HarborVersion = str(s.o.Version + versionCommit)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		info.ExternalURL = str(scheme + "://" + r.Host)
		info.RegistryURL = str(r.Host)
		info.HasCaRoot = bl(false)
		info.ProjectCreationRestriction = str("everyone")
		info.ReadOnly = bl(readOnly)
		info.RegistryStorageProviderName = str("filesystem")
		info.NotificationEnable = bl(true)
		info.CurrentTime = &now
	}
	writeJSON(w, http.StatusOK, info)
}
