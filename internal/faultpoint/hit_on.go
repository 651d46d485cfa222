//go:build faultpoints

package faultpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	mu   sync.Mutex
	hits = map[string]int{}
)

// Hit kills the process with SIGKILL, as a crash would (no deferred cleanup, no lease release),
// when ROTATOR_FAULTPOINT is name or name#n and this is the n-th hit of name. With a suffix
// ":pause=DURATION" it sleeps there instead, so a test can act while a rotation is in hand
// (take its leadership away, say).
func Hit(name string) {
	spec, pause, _ := strings.Cut(os.Getenv("ROTATOR_FAULTPOINT"), ":pause=")
	want, nth, _ := strings.Cut(spec, "#")
	if want != name {
		return
	}
	n := 1
	if nth != "" {
		n, _ = strconv.Atoi(nth)
	}
	mu.Lock()
	hits[name]++
	count := hits[name]
	mu.Unlock()
	if count == n && pause != "" {
		d, _ := time.ParseDuration(pause)
		fmt.Fprintf(os.Stderr, "faultpoint: pausing %s at %s#%d\n", d, name, n)
		time.Sleep(d)
		return
	}
	if count == n {
		fmt.Fprintf(os.Stderr, "faultpoint: dying at %s#%d\n", name, n)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
}
