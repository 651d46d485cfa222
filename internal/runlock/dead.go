package runlock

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// deadOnThisHost reports whether holder ("host/pid (what)") names a process of this host that
// no longer exists. A crashed `rotate now` then does not block the next one for a whole lease
// duration; holders on other hosts (other pods) are only ever taken over when their lease expires.
func deadOnThisHost(holder string) bool {
	host, rest, ok := strings.Cut(holder, "/")
	if !ok {
		return false
	}
	me, err := os.Hostname()
	if err != nil || host != me {
		return false
	}
	digits, _, _ := strings.Cut(rest, " ")
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
