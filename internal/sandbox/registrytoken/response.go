package registrytoken

import (
	"encoding/json"
	"net/http"
	"time"
)

// Response is the JSON body of a token endpoint's answer. Both token and access_token carry
// the same JWT: Docker reads token, OAuth2-minded clients (containerd, go-containerregistry
// with refresh tokens) read access_token.
type Response struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// WriteTokenResponse writes a 200 answer carrying token, which expires ttl after now.
func WriteTokenResponse(w http.ResponseWriter, token string, ttl time.Duration, now time.Time) {
	body, err := json.Marshal(Response{ //nolint:gosec // G117: the token protocol sends the token to the client that asked
		Token:       token,
		AccessToken: token,
		ExpiresIn:   int64(ttl / time.Second),
		IssuedAt:    now.UTC().Format(time.RFC3339),
	})
	if err != nil {
		// Marshalling four scalars cannot fail; answer 500 rather than an empty 200 all the same.
		http.Error(w, "token encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
