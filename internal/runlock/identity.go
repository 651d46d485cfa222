package runlock

import (
	"crypto/rand"
	"fmt"
	"os"
)

// newIdentity names one acquisition: "host/pid/8 random hex (purpose)". Host and pid let
// deadOnThisHost free the lock of a crashed process at once; the random part makes two
// acquisitions of one process (a leader that lost and won again while its old run winds down)
// two holders that exclude each other.
func newIdentity(purpose string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	id := fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
	if purpose != "" {
		id += " (" + purpose + ")"
	}
	return id
}
