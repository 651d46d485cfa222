package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// serviceProc is one `rotator run` started by the benchmark, through rsswrap: its peak RSS is
// read both from /proc (VmHWM of the rotator process, sampled while it runs) and from wait4 at
// its exit (rsswrap's report).
type serviceProc struct {
	cmd        *exec.Cmd // rsswrap
	pid        int       // the rotator, rsswrap's child
	report     string
	logPath    string
	logFile    *os.File
	Start      time.Time
	done       chan struct{}
	waitErr    error
	stopOnce   sync.Once
	sampleStop chan struct{}

	mu sync.Mutex
	// maxRSS is the largest VmRSS sample since the last takeMaxRSS; hwm the last VmHWM read.
	maxRSS, hwm int64
}

// serviceExit is what a stopped service leaves: rsswrap's report and the last /proc reading.
type serviceExit struct {
	// MaxRSSKiB is wait4's Maxrss of the rotator (rsswrap's report); RSSFloorKiB rsswrap's own
	// peak, under which it cannot go.
	MaxRSSKiB, RSSFloorKiB int64
	// HWMKiB is the last VmHWM read from /proc before the stop.
	HWMKiB   int64
	CPU      time.Duration
	Wall     time.Duration
	ExitCode int
}

// freePort asks the kernel for a free loopback port for the service's /metrics listener, so a
// test suite running beside the benchmark on :8080 is not in its way.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startService starts `rotator run` as the rig's rotator user with config, logging JSON to
// name.log in the work directory.
func (r *runner) startService(name, config string, flags ...string) (*serviceProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &serviceProc{report: filepath.Join(r.dir, name+"-rss.json"), logPath: filepath.Join(r.dir, name+".log"),
		done: make(chan struct{}), sampleStop: make(chan struct{})}
	if s.logFile, err = os.Create(s.logPath); err != nil {
		return nil, err
	}
	args := append([]string{"-o", s.report, "--", r.rotatorBin, "--kubeconfig", r.rotatorKubeconfig, "--log-format", "json",
		"run", "--config", config, "--listen", "127.0.0.1:" + strconv.Itoa(port)}, flags...)
	s.cmd = exec.Command(r.spawn.wrap, args...)
	s.cmd.Env = append(os.Environ(), "HARBOR_PASSWORD="+r.harborPassword)
	if r.profileDir != "" { // -profile: CPU, blocking and peak-heap profiles of the service
		dir := filepath.Join(r.profileDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		s.cmd.Env = append(s.cmd.Env, "ROTATOR_PPROF_DIR="+dir)
	}
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.Start = time.Now()
	if err := s.cmd.Start(); err != nil {
		s.logFile.Close()
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pid, ok := childOf(s.cmd.Process.Pid); ok {
			s.pid = pid
			break
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("rotator run exited at once:\n%s", s.logTail(3000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, errors.New("rotator run: no child process of rsswrap after 10s")
		}
	}
	go s.sample()
	return s, nil
}

// sample reads the rotator's VmRSS every half second: the largest sample of a phase is reported
// beside its VmHWM.
func (s *serviceProc) sample() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if hwm, rss, ok := procMemory(s.pid); ok {
			s.mu.Lock()
			s.hwm, s.maxRSS = max(s.hwm, hwm), max(s.maxRSS, rss)
			s.mu.Unlock()
		}
		select {
		case <-s.sampleStop:
			return
		case <-s.done:
			return
		case <-t.C:
		}
	}
}

// memory returns VmHWM now (the peak since the start) and the largest VmRSS sample since the
// last call, which it resets.
func (s *serviceProc) memory() (hwm, maxRSS int64) {
	if h, r, ok := procMemory(s.pid); ok {
		s.mu.Lock()
		s.hwm, s.maxRSS = max(s.hwm, h), max(s.maxRSS, r)
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hwm, maxRSS = s.hwm, s.maxRSS
	s.maxRSS = 0
	return hwm, maxRSS
}

// cpu is the rotator's user and system time so far.
func (s *serviceProc) cpu() time.Duration {
	st, ok := readProcStat(s.pid)
	if !ok {
		return 0
	}
	return ticksToDuration(st.Ticks)
}

// alive returns an error quoting the log if the service has exited.
func (s *serviceProc) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("rotator run exited (%w):\n%s", s.waitErr, s.logTail(3000))
	default:
		return nil
	}
}

// stop sends SIGTERM to the rotator (rsswrap passes no signal on: it would die and take the
// rotator with it, SIGKILL by Pdeathsig, before wait4 could report) and waits for both to exit.
func (s *serviceProc) stop() (serviceExit, error) {
	var exit serviceExit
	exit.HWMKiB, _ = s.memory()
	exit.CPU = s.cpu()
	_ = syscall.Kill(s.pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(90 * time.Second):
		s.kill()
		<-s.done
		return exit, fmt.Errorf("rotator run did not stop within 90s of SIGTERM:\n%s", s.logTail(2000))
	}
	close(s.sampleStop)
	s.logFile.Close()
	exit.Wall = time.Since(s.Start)
	if st := s.cmd.ProcessState; st != nil {
		exit.ExitCode = st.ExitCode()
	}
	var rep struct {
		MaxRSSKiB, WrapperHWMKiB int64
		CPUSeconds               float64
	}
	b, err := os.ReadFile(s.report)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		return exit, fmt.Errorf("rsswrap wrote no report for rotator run (exit %d):\n%s", exit.ExitCode, s.logTail(2000))
	}
	exit.MaxRSSKiB, exit.RSSFloorKiB = rep.MaxRSSKiB, rep.WrapperHWMKiB
	exit.CPU = max(exit.CPU, time.Duration(rep.CPUSeconds*float64(time.Second)))
	if exit.ExitCode != 0 {
		return exit, fmt.Errorf("rotator run exited with %d after SIGTERM:\n%s", exit.ExitCode, s.logTail(2000))
	}
	return exit, nil
}

// kill ends rsswrap and the rotator at once (an error path).
func (s *serviceProc) kill() {
	s.stopOnce.Do(func() {
		if s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	})
}

func (s *serviceProc) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	return tail(b, n)
}

// logLine is one line of the service's JSON log, the fields read here.
type logLine struct {
	Time   time.Time `json:"time"`
	Level  string    `json:"level"`
	Msg    string    `json:"msg"`
	Result string    `json:"result"`
	Err    string    `json:"err"`
}

// logLines reads the service's log so far (lines that are not JSON, such as a panic, are kept
// with Msg set to the line).
func (s *serviceProc) logLines() ([]logLine, error) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			l = logLine{Msg: sc.Text()}
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// runsDone counts the service's finished runs so far ("run done" lines) and returns the last
// failure logged, if any.
func (s *serviceProc) runsDone() (done int, lastResult, failure string, err error) {
	lines, err := s.logLines()
	if err != nil {
		return 0, "", "", err
	}
	for _, l := range lines {
		switch l.Msg {
		case "run done":
			done++
			lastResult, failure = l.Result, ""
		case "run failed; retrying later":
			failure = l.Err
		}
	}
	return done, lastResult, failure, nil
}

// waitRunDone waits until the service has logged more than before finished runs.
func (s *serviceProc) waitRunDone(ctx context.Context, before int, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		done, result, failure, err := s.runsDone()
		if err != nil {
			return "", err
		}
		if done > before {
			return result, nil
		}
		if err := s.alive(); err != nil {
			return "", err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("rotator run: no run finished after %s (last failure: %q):\n%s", timeout, failure, s.logTail(2000))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// messagesBetween counts the service's log lines by level and message in [from, to).
func (s *serviceProc) messagesBetween(from, to time.Time) map[string]int {
	lines, err := s.logLines()
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for _, l := range lines {
		if l.Time.Before(from) || !l.Time.Before(to) {
			continue
		}
		msg := l.Msg
		if len(msg) > 120 {
			msg = msg[:120] + "..."
		}
		out[l.Level+" "+msg]++
	}
	return out
}
