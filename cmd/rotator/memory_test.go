package main

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// `rotator run` collects at GOGC 25 unless told otherwise, and takes 90% of the container's
// memory limit as its soft limit unless GOMEMLIMIT says otherwise.
func TestTuneMemory(t *testing.T) {
	const limit = 200 << 20
	noCgroup := func() (uint64, error) { return 0, memlimit.ErrNoCgroup }
	for _, tc := range []struct {
		name           string
		gogc, gomemlim string
		limits         memlimit.Provider
		wantGC         int
		wantLimit      int64
	}{
		{name: "defaults in a container", limits: memlimit.Limit(limit), wantGC: serviceGCPercent, wantLimit: limit * 9 / 10},
		{name: "GOGC set", gogc: "80", limits: memlimit.Limit(limit), wantGC: 80, wantLimit: limit * 9 / 10},
		{name: "GOMEMLIMIT set", gomemlim: "150MiB", limits: memlimit.Limit(limit), wantGC: serviceGCPercent, wantLimit: 150 << 20},
		{name: "no cgroup", limits: noCgroup, wantGC: serviceGCPercent, wantLimit: math.MaxInt64},
		{name: "a failing provider", limits: func() (uint64, error) { return 0, errors.New("unreadable") }, wantGC: serviceGCPercent, wantLimit: math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.gomemlim)
			prevGC, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
			t.Cleanup(func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) })
			if tc.gogc != "" {
				debug.SetGCPercent(80) // what the runtime read from GOGC at start
			}
			if tc.gomemlim != "" {
				debug.SetMemoryLimit(150 << 20)
			}
			attrs := tuneMemory(tc.limits)
			if got := debug.SetGCPercent(100); got != tc.wantGC {
				t.Errorf("GC percent %d, want %d (%v)", got, tc.wantGC, attrs)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit %d, want %d (%v)", got, tc.wantLimit, attrs)
			}
		})
	}
}
