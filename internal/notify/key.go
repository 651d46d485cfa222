package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// A failure is the same failure while its cause and errors are: a registry down for a day is
// one notification per repeat interval, a new error is news at once.
func (n RotationFailed) key() string {
	return digest(append([]string{n.Cause}, n.Errors...))
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
