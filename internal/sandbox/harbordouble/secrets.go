package harbordouble

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"regexp"
)

// secretChars is Harbor's alphabet for generated strings (src/common/utils.GenerateRandomString).
const secretChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

var (
	hasLower  = regexp.MustCompile(`[a-z]`)
	hasUpper  = regexp.MustCompile(`[A-Z]`)
	hasNumber = regexp.MustCompile(`\d`)
)

// validSecret is Harbor's robot.IsValidSec: 8 to 128 characters with a lower-case letter, an
// upper-case letter and a digit.
func validSecret(s string) bool {
	return len(s) >= 8 && len(s) <= 128 && hasLower.MatchString(s) && hasUpper.MatchString(s) && hasNumber.MatchString(s)
}

// generateSecret draws 32 characters until they pass validSecret, as Harbor's CreateSec does.
func generateSecret() string {
	// Bytes at or above limit are skipped so every character is equally likely.
	const limit = 256 - 256%len(secretChars)
	for {
		out := make([]byte, 0, 32)
		buf := make([]byte, 64)
		for len(out) < 32 {
			_, _ = rand.Read(buf)
			for _, c := range buf {
				if int(c) < limit && len(out) < 32 {
					out = append(out, secretChars[int(c)%len(secretChars)])
				}
			}
		}
		if s := string(out); validSecret(s) {
			return s
		}
	}
}

// hashSecret salts and hashes a secret. Harbor keeps only a salted hash; so does the double,
// so nothing here can hand a secret back after the create or refresh answer.
func hashSecret(salt, secret string) [32]byte {
	return sha256.Sum256([]byte(salt + "\x00" + secret))
}

func newSalt() string { return rand.Text() }

func secretMatches(salt string, want [32]byte, secret string) bool {
	got := hashSecret(salt, secret)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
