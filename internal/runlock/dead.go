package runlock

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// deadOnThisHost reports whether holder ("host/pid/random (purpose)", or "host/pid (purpose)" as
// written by earlier versions) names a process of this host that no longer exists. A crashed
// `rotate now` then does not block the next one for a whole lease duration; holders on other hosts
// (other pods) are only ever taken over when their lease expires. A live pid, this process's
// included, is a live holder: another acquisition of the same process excludes like any other.
func deadOnThisHost(holder string) bool {
	host, rest, ok := strings.Cut(holder, "/")
	if !ok {
		return false
	}
	me, err := os.Hostname()
	if err != nil || host != me {
		return false
	}
	digits := rest
	if end := strings.IndexAny(rest, "/ "); end >= 0 {
		digits = rest[:end]
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
