package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// profileDirEnv names a directory to write this process's CPU and blocking profiles to, for
// `go tool pprof`. bench/ sets it (rotatorbench -profile) to show where a run's time goes: a run
// held up by the client rate limit shows it in block.pprof (golang.org/x/time/rate waits), not
// in cpu.pprof. An environment variable, not a flag, so no command grows a debugging option.
const profileDirEnv = "ROTATOR_PPROF_DIR"

// startProfiles starts profiling when dir is set; stop writes the profiles. A profile that
// cannot be written is reported on stderr and never fails the command.
func startProfiles(dir string) (stop func()) {
	if dir == "" {
		return func() {}
	}
	warn := func(err error) { fmt.Fprintf(os.Stderr, "%s: %v\n", profileDirEnv, err) }
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof")) //nolint:gosec // G703: the operator's own ROTATOR_PPROF_DIR
	if err != nil {
		warn(err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		warn(err)
	}
	// Every blocking event of a millisecond or more (rate limiter waits, HTTP round trips, locks).
	runtime.SetBlockProfileRate(1_000_000)
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		f, err := os.Create(filepath.Join(dir, "block.pprof")) //nolint:gosec // G703: as above
		if err != nil {
			warn(err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("block").WriteTo(f, 0); err != nil {
			warn(err)
		}
	}
}
