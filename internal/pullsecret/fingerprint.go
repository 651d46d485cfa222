package pullsecret

import (
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint returns a short stable identifier of a pull secret document: the first
// 16 hex digits (64 bits) of its SHA-256. The rotator stores it in annotations
// (on the Secret, and on pod templates to restart workloads by credential) so that
// anyone can see which credential a Secret holds or a workload was started with.
//
// Publishing it reveals nothing usable: the document contains a password of high
// entropy (a Harbor robot secret or a GitLab token), so the hash cannot be inverted
// or brute-forced, and 64 bits are far more than needed to tell credentials apart.
// It would not be safe for a document whose password is guessable.
//
// It hashes the bytes as given; Build is deterministic, so the same credential
// always has the same fingerprint.
func Fingerprint(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
