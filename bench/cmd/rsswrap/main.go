// Command rsswrap runs a command and writes its peak resident set size (and CPU time) to a file,
// as JSON.
//
// The benchmark starts every measured process through it because the max RSS that wait4 reports
// for a child started directly by a large Go process is the parent's: Go starts children with
// vfork (CLONE_VM), and at exec Linux records the high-water mark of the memory the child shared
// with its parent as the child's own maxrss. rsswrap is small, so the number it reports for its
// child is the child's — unless the child stayed below rsswrap's own peak, which it writes too.
//
//	rsswrap -o FILE -- COMMAND [ARG...]
//
// The command's output, input and exit status pass through.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// report is what rsswrap writes.
type report struct {
	// MaxRSSKiB is the child's peak resident set, and that of the descendants it waited for.
	MaxRSSKiB int64 `json:"maxRSSKiB"`
	// WrapperHWMKiB is rsswrap's own peak when it started the child: a floor under MaxRSSKiB.
	WrapperHWMKiB int64 `json:"wrapperHWMKiB"`
	// CPUSeconds is the user and system CPU time of the child and its waited-for descendants.
	CPUSeconds float64 `json:"cpuSeconds"`
}

func main() {
	out := flag.String("o", "", "file to write the JSON report to")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rsswrap -o FILE -- COMMAND [ARG...]")
		os.Exit(2)
	}
	rep := report{WrapperHWMKiB: selfHWM()}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "rsswrap:", err)
		os.Exit(127)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rep.MaxRSSKiB = ru.Maxrss // KiB on Linux
		rep.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
	}
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rsswrap:", err)
		os.Exit(127)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// selfHWM is this process's peak resident set so far (VmHWM), in KiB.
func selfHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
