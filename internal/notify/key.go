package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// A failure is the same while the runs keep failing for the same cause: a registry down for a
// day is one notification per repeat interval. Not by error text: each retry names the new
// credential it issued, so no two texts are alike. A new streak (after a success) or a change
// of cause (transient to permanent) is news at once.
func (n RotationFailed) key() string {
	return n.Cause + "@" + n.FailingSince.UTC().Format(time.RFC3339Nano)
}

// Each rollback is of a credential of its own.
func (n RolledBack) key() string { return n.RolledBack.ID }

// A held revocation is the same while the same credentials are held by the same namespaces.
func (n RevocationHeld) key() string {
	parts := make([]string, 0, len(n.Held))
	for _, h := range n.Held {
		parts = append(parts, h.ID+"="+strings.Join(h.HeldBy, ","))
	}
	sort.Strings(parts)
	return digest(parts)
}

// Expiry of one credential: once per repeat interval until it is rotated.
func (n ExpiryApproaching) key() string { return n.Current.ID }

func digest(parts []string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}
