package verify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rotatorhq/rotator/internal/verify"
	"github.com/rotatorhq/rotator/internal/verify/verifytest"
)

func TestCredentialRefusedAndAuthorised(t *testing.T) {
	pe := func(r verify.Reason, s verify.Stage, status int) error {
		return &verify.PullError{Image: "reg.io/team/app:1", Registry: "reg.io", Reason: r, Stage: s, Status: status}
	}
	tests := []struct {
		name       string
		err        error
		refused    bool
		authorised bool
	}{
		{"nil", nil, false, true},
		{"401 at token: wrong or deleted credential", pe(verify.ReasonUnauthorized, verify.StageToken, 401), true, false},
		{"403 at token", pe(verify.ReasonDenied, verify.StageToken, 403), true, false},
		{"401 at manifest: token without the requested access", pe(verify.ReasonUnauthorized, verify.StageManifest, 401), true, false},
		{"403 DENIED at manifest", pe(verify.ReasonDenied, verify.StageManifest, 403), true, false},
		{"wrapped DENIED", fmt.Errorf("verify new credential: %w", pe(verify.ReasonDenied, verify.StageManifest, 403)), true, false},
		{"404 at manifest: missing tag", pe(verify.ReasonNotFound, verify.StageManifest, 404), false, true},
		{"wrapped 404 at manifest", fmt.Errorf("x: %w", pe(verify.ReasonNotFound, verify.StageManifest, 404)), false, true},
		{"NotFound without stage", pe(verify.ReasonNotFound, verify.StageNone, 404), false, false},
		{"412 policy", pe(verify.ReasonPolicy, verify.StageManifest, 412), false, true},
		{"network", pe(verify.ReasonNetwork, verify.StageNone, 0), false, false},
		{"timeout", pe(verify.ReasonTimeout, verify.StageNone, 0), false, false},
		{"TLS", pe(verify.ReasonTLS, verify.StageNone, 0), false, false},
		{"realm refused", pe(verify.ReasonRealmRefused, verify.StagePing, 0), false, false},
		{"other (429)", pe(verify.ReasonOther, verify.StageManifest, 429), false, false},
		{"no matching key", pe(verify.ReasonNoMatchingKey, verify.StageNone, 0), false, false},
		{"invalid secret", pe(verify.ReasonInvalidSecret, verify.StageNone, 0), false, false},
		{"not a PullError", errors.New("401 Unauthorized"), false, false},
		{"bare deadline", context.DeadlineExceeded, false, false},
	}
	for _, tt := range tests {
		if got := verify.CredentialRefused(tt.err); got != tt.refused {
			t.Errorf("%s: CredentialRefused = %v, want %v", tt.name, got, tt.refused)
		}
		if got := verify.Authorised(tt.err); got != tt.authorised {
			t.Errorf("%s: Authorised = %v, want %v", tt.name, got, tt.authorised)
		}
	}
}

// The same decisions on the answers of the registry double, end to end: what
// PullCheck returns is what the predicates are asked about.
func TestDecisionsAgainstRegistry(t *testing.T) {
	reg := verifytest.New(t, verifytest.Options{Users: users(), Policy: map[string]string{"signed/app": "The image is not signed by cosign."}})
	reg.Push(t, "team/app:1")
	reg.Push(t, "signed/app:1")
	var c verify.Checker
	tests := []struct {
		name                string
		image               string
		auth                authn.Authenticator
		refused, authorised bool
	}{
		{"good", reg.Image("team/app:1"), basic("robot$team+pull", goodPass), false, true},
		{"wrong password", reg.Image("team/app:1"), basic("robot$team+pull", wrongPass), true, false},
		{"expired robot", reg.Image("team/app:1"), basic("robot$team+old", expiredPass), true, false},
		{"no permission", reg.Image("team/app:1"), basic("robot$other+pull", goodPass), true, false},
		{"missing tag", reg.Image("team/app:2"), basic("robot$team+pull", goodPass), false, true},
		{"policy", reg.Image("signed/app:1"), basic("robot$team+pull", goodPass), false, true},
		{"policy, wrong password", reg.Image("signed/app:1"), basic("robot$team+pull", wrongPass), true, false},
	}
	for _, tt := range tests {
		err := c.PullCheck(ctxT(t), tt.image, tt.auth)
		if got := verify.CredentialRefused(err); got != tt.refused {
			t.Errorf("%s: CredentialRefused = %v, want %v; err: %v", tt.name, got, tt.refused, err)
		}
		if got := verify.Authorised(err); got != tt.authorised {
			t.Errorf("%s: Authorised = %v, want %v; err: %v", tt.name, got, tt.authorised, err)
		}
	}
}
