package sim

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	flagSeed    = flag.Uint64("sim.seed", 0, "replay this one seed with a full trace of every fake call")
	flagSeeds   = flag.Int("sim.seeds", 2000, "number of seeds to simulate")
	flagFirst   = flag.Uint64("sim.first", 1, "first seed")
	flagWorkers = flag.Int("sim.workers", 2, "seeds simulated in parallel")
	flagShow    = flag.Int("sim.show", 3, "failing seeds shown per invariant")
)

// summary is printed by TestMain after the tests, so that `go test` shows it without -v.
var summary strings.Builder

func TestMain(m *testing.M) {
	flag.Parse()
	// The fakes allocate a lot of short-lived copies; collecting less often saves a third of the time.
	debug.SetGCPercent(800)
	code := m.Run()
	if summary.Len() > 0 {
		fmt.Print(summary.String())
	}
	os.Exit(code)
}

func replayCommand(seed uint64) string {
	return fmt.Sprintf("go test ./internal/rotation/sim/ -run 'TestSimulation$' -sim.seed=%d", seed)
}

// TestSimulation runs the seeds (or replays one with -sim.seed) and fails on any violation.
func TestSimulation(t *testing.T) {
	if *flagSeed != 0 {
		res := Simulate(*flagSeed, Options{Verbose: true})
		fmt.Fprintf(&summary, "sim: replay of seed %d: %d steps, %d runs, %d violations\n", res.Seed, res.Steps, res.Runs, len(res.Violations))
		fmt.Fprintln(&summary, strings.Join(res.Trace, "\n"))
		for _, v := range res.Violations {
			t.Errorf("seed %d: %s", res.Seed, v)
		}
		return
	}
	began := time.Now()
	n, workers := *flagSeeds, max(*flagWorkers, 1)
	results := make([]Result, n)
	var mu sync.Mutex
	next := 0
	t.Run("seeds", func(t *testing.T) {
		for wk := range workers {
			t.Run(fmt.Sprintf("worker-%d", wk), func(t *testing.T) {
				t.Parallel()
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= n {
						return
					}
					results[i] = Simulate(*flagFirst+uint64(i), Options{})
				}
			})
		}
	})
	elapsed := time.Since(began)

	steps, runs := 0, 0
	failing := map[string][]Result{} // by invariant
	bad := 0
	for _, r := range results {
		steps += r.Steps
		runs += r.Runs
		if len(r.Violations) > 0 {
			bad++
		}
		seen := map[string]bool{}
		for _, v := range r.Violations {
			if !seen[v.Invariant] {
				seen[v.Invariant] = true
				failing[v.Invariant] = append(failing[v.Invariant], r)
			}
		}
	}
	fmt.Fprintf(&summary, "sim: %d seeds (%d..%d), %d steps, %d core runs in %.1fs (%.0f seeds/s, GOMAXPROCS %d, %d workers); %d seeds violate an invariant\n",
		n, *flagFirst, *flagFirst+uint64(n)-1, steps, runs, elapsed.Seconds(), float64(n)/elapsed.Seconds(), runtime.GOMAXPROCS(0), workers, bad)
	if bad == 0 {
		return
	}
	invs := make([]string, 0, len(failing))
	for k := range failing {
		invs = append(invs, k)
	}
	sort.Strings(invs)
	for _, inv := range invs {
		rs := failing[inv]
		fmt.Fprintf(&summary, "  %s: %d seeds\n", inv, len(rs))
		for i, r := range rs {
			if i == *flagShow {
				break
			}
			for _, v := range r.Violations {
				if v.Invariant == inv {
					fmt.Fprintf(&summary, "    seed %d, step %d: %s\n      replay: %s\n", r.Seed, v.Step, firstLine(v.Detail), replayCommand(r.Seed))
					break
				}
			}
		}
	}
	first := failing[invs[0]][0]
	fmt.Fprintf(&summary, "trace of seed %d (steps only; the replay shows every call):\n%s\n", first.Seed, strings.Join(first.Trace, "\n"))
	t.Errorf("%d of %d seeds violate an invariant (see the summary below the test output); replay one with %s", bad, n, replayCommand(first.Seed))
}
