//go:build faultpoints

package faultpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var (
	mu   sync.Mutex
	hits = map[string]int{}
)

// Hit kills the process with SIGKILL, as a crash would (no deferred cleanup, no lease release),
// when ROTATOR_FAULTPOINT is name or name#n and this is the n-th hit of name.
func Hit(name string) {
	want, nth, _ := strings.Cut(os.Getenv("ROTATOR_FAULTPOINT"), "#")
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
	if count == n {
		fmt.Fprintf(os.Stderr, "faultpoint: dying at %s#%d\n", name, n)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
}
