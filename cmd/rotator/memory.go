package main

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// serviceGCPercent is the GC target of `rotator run` when GOGC is not set. The service holds its
// caches for hours and is idle between events, so the heap the runtime lets grow past the live
// data (GOGC=100: as much again) is most of its resident memory, while collecting more often
// costs CPU only while it is busy. At 25 the heap grows a quarter past the live data: at 10,000
// target namespaces a run's live heap peaks at about 45 MB (caches and plan), on top of about
// 30 MB of the binary's own pages, so at 50 a fresh run's heap goal alone reached about 70 MB and
// its resident set passed 100 MiB (issue 17, bench/RESULTS-service.md). The price is about twice
// as many collections during a run (a collection of a 45 MB heap takes some 40 ms of CPU); idle,
// the service allocates next to nothing and pays nothing.
const serviceGCPercent = 25

// memoryRatio of the container's memory limit becomes the runtime's soft limit: the rest is for
// what the runtime does not count (the binary's pages, thread stacks).
const memoryRatio = 0.9

// tuneMemory sets the memory behaviour of the service: the GC target (unless GOGC is set) and a
// soft memory limit at memoryRatio of the limit that limits reports (the container's cgroup in
// production; unless GOMEMLIMIT is set), so that the runtime collects harder before the kernel's
// OOM killer would kill the pod. It returns what it set, as attributes of the start-up log line.
func tuneMemory(limits memlimit.Provider) []any {
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		debug.SetGCPercent(serviceGCPercent)
		gogc = strconv.Itoa(serviceGCPercent)
	}
	limit, err := memlimit.Set(memlimit.WithProvider(limits), memlimit.WithRatio(memoryRatio))
	from := "90% of the container's memory limit"
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		from = "GOMEMLIMIT"
	case err != nil:
		from = "none: no container memory limit found (" + err.Error() + ")"
	case limit == math.MaxInt64:
		from = "none: the container has no memory limit"
	}
	return []any{"gogc", gogc, "memoryLimitBytes", limit, "memoryLimitFrom", from}
}
