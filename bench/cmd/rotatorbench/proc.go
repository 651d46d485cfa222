package main

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100 on every Linux
// architecture Go supports (sysconf(_SC_CLK_TCK) is not reachable without cgo).
const clockTicks = 100

// procMemory reads a process's peak (VmHWM) and current (VmRSS) resident set, in KiB. Unlike
// wait4's Maxrss, VmHWM belongs to the process's own address space since its exec, so a child
// of a large process reads true here (see bench/cmd/rsswrap).
func procMemory(pid int) (hwm, rss int64, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, found := strings.CutPrefix(line, "VmHWM:"); found {
			hwm = kib(v)
		}
		if v, found := strings.CutPrefix(line, "VmRSS:"); found {
			rss = kib(v)
		}
	}
	return hwm, rss, hwm > 0
}

func kib(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return n
}

// procStat is the part of /proc/PID/stat read here.
type procStat struct {
	PID, PPID int
	Comm      string
	// Ticks is user and system time, in clockTicks; Started the process's start time after
	// boot, which tells a reused PID apart.
	Ticks, Started int64
}

func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, false
	}
	return parseProcStat(string(b))
}

// parseProcStat reads "pid (comm) state ppid ... utime stime ...": comm may hold spaces and
// parentheses, so the fields after it are counted from the last ')'.
func parseProcStat(s string) (procStat, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return procStat{}, false
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	started, _ := strconv.ParseInt(f[19], 10, 64)
	return procStat{PID: pid, PPID: ppid, Comm: s[open+1 : end], Ticks: ut + st, Started: started}, true
}

// allProcs reads every process's stat.
func allProcs() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); ok {
			out = append(out, st)
		}
	}
	return out
}

// childOf finds the (first) child process of ppid.
func childOf(ppid int) (int, bool) {
	for _, p := range allProcs() {
		if p.PPID == ppid {
			return p.PID, true
		}
	}
	return 0, false
}

func ticksToDuration(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }

// loadAvg is /proc/loadavg's three averages, "2.10 1.95 1.80".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cpuTimes is the machine's total and idle (idle + iowait) time from /proc/stat, in ticks.
func cpuTimes() (total, idle int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return total, idle
}

// machineSnapshot is taken at the start and end of a phase: the load on the machine in between
// is what the reader needs to judge the numbers of a shared machine.
type machineSnapshot struct {
	at          time.Time
	load        string
	total, idle int64
	procs       map[int]procStat
}

func snapshotMachine() machineSnapshot {
	s := machineSnapshot{at: time.Now(), load: loadAvg(), procs: map[int]procStat{}}
	s.total, s.idle = cpuTimes()
	for _, p := range allProcs() {
		s.procs[p.PID] = p
	}
	return s
}

// procCPU is the CPU time the processes of one name used during a phase.
type procCPU struct {
	Comm string
	CPU  time.Duration
	// Procs counts the processes of that name that used any.
	Procs int
}

// machineLoad is what a phase's two snapshots say of the machine.
type machineLoad struct {
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15-minute averages.
	LoadStart, LoadEnd string
	// Busy is the share of all CPUs' time that was not idle, 0 to 1.
	Busy float64
	// Top are the process names that used the most CPU in the phase (a process that started and
	// ended inside it is not seen: a short `go test` counts only while it runs at a snapshot).
	Top []procCPU
}

func loadBetween(a, b machineSnapshot) machineLoad {
	l := machineLoad{LoadStart: a.load, LoadEnd: b.load}
	if dt := b.total - a.total; dt > 0 {
		l.Busy = 1 - float64(b.idle-a.idle)/float64(dt)
	}
	by := map[string]*procCPU{}
	for pid, p := range b.procs {
		d := p.Ticks
		if q, ok := a.procs[pid]; ok && q.Started == p.Started {
			d -= q.Ticks
		}
		if d <= 0 {
			continue
		}
		name := commGroup(p.Comm)
		c := by[name]
		if c == nil {
			c = &procCPU{Comm: name}
			by[name] = c
		}
		c.CPU += ticksToDuration(d)
		c.Procs++
	}
	for _, c := range by {
		l.Top = append(l.Top, *c)
	}
	sort.Slice(l.Top, func(i, j int) bool { return l.Top[i].CPU > l.Top[j].CPU })
	if len(l.Top) > 6 {
		l.Top = l.Top[:6]
	}
	return l
}

// commGroup groups the kernel's worker threads, whose names carry the work queue they serve at
// the moment ("kworker/u8:2-events_unbound"), under one name.
func commGroup(comm string) string {
	if strings.HasPrefix(comm, "kworker/") {
		return "kworker (kernel)"
	}
	return comm
}
