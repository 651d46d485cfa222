package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
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
	stopPeak := heapAtPeak(filepath.Join(dir, "heap-peak.pprof"), warn)
	return func() {
		stopPeak()
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

// heapAtPeak writes the heap profile to path whenever the live heap grows past its last peak by
// a tenth (checked every 250 ms), and once more at stop: a process's peak RSS is where its memory
// goes wrong, and a profile written only at exit shows the heap after the run let go of it.
func heapAtPeak(path string, warn func(error)) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	write := func() {
		f, err := os.Create(path) //nolint:gosec // G703: the operator's own ROTATOR_PPROF_DIR
		if err != nil {
			warn(err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			warn(err)
		}
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		var peak uint64
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > peak+peak/10 {
				peak = live
				write()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
