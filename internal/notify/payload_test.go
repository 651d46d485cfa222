package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden payloads in testdata")

var (
	at      = time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	harbor  = Credential{Name: "harbor-main", Provider: "harbor", Registry: "harbor.example.com"}
	samples = map[string]Notification{
		"failure": RotationFailed{Credential: harbor, Cause: "transient", ConsecutiveFailures: 3, FailingSince: at.Add(-3 * time.Minute), At: at,
			Errors: []string{"issue: harbor: POST /robots: 503 Service Unavailable"}},
		"rollback": RolledBack{Credential: harbor, At: at,
			RolledBack: Ref{ID: "42", Name: "robot$rotator-harbor-main-20261202", Reason: "cannot pull dependent images; revoked after the grace period"}},
		"revocation-held": RevocationHeld{Credential: harbor, At: at, Held: []Ref{{
			ID: "41", Name: "robot$rotator-harbor-main-20261101", ExpiresAt: at.Add(72 * time.Hour),
			Reason: "held by namespace(s) team-a, team-b, whose managed secret still holds it", HeldBy: []string{"team-a", "team-b"},
		}}},
		"expiry-approaching": ExpiryApproaching{Credential: harbor, At: at, RenewAt: at.Add(-5 * 24 * time.Hour),
			Current: Ref{ID: "41", Name: "robot$rotator-harbor-main-20261101", ExpiresAt: at.Add(48 * time.Hour)}},
	}
)

// Each kind in each format is its golden payload (testdata/<kind>.<format>.json, shown in
// docs/notifications.md); go test -update rewrites them after a deliberate change.
func TestPayloadGolden(t *testing.T) {
	for name, n := range samples {
		for _, format := range []string{FormatJSON, FormatSlack} {
			t.Run(name+"/"+format, func(t *testing.T) {
				if string(n.Kind()) != name {
					t.Fatalf("kind %q under name %q", n.Kind(), name)
				}
				b, err := Render(n, format)
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, b, "", "  "); err != nil {
					t.Fatal(err)
				}
				pretty.WriteByte('\n')
				golden := filepath.Join("testdata", name+"."+format+".json")
				if *update {
					if err := os.WriteFile(golden, pretty.Bytes(), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test ./internal/notify/ -update writes it)", err)
				}
				if !bytes.Equal(pretty.Bytes(), want) {
					t.Errorf("%s differs:\n got: %s\nwant: %s", golden, pretty.Bytes(), want)
				}
			})
		}
	}
}
