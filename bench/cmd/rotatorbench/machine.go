package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes where the benchmark ran; numbers mean little without it.
type machine struct {
	CPUs      int
	CPUModel  string
	MemTotal  string
	GoVersion string
	Kubectl   string
	Kernel    string
	// LoadAvg at the start: the machine may be shared.
	LoadAvg string
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPUModel = firstField("/proc/cpuinfo", "model name")
	m.MemTotal = firstField("/proc/meminfo", "MemTotal")
	var kib int64
	if _, err := fmt.Sscanf(m.MemTotal, "%d kB", &kib); err == nil {
		m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if out, err := exec.Command("kubectl", "version", "--client").Output(); err == nil {
		line, _, _ := strings.Cut(string(out), "\n")
		m.Kubectl = strings.TrimSpace(strings.TrimPrefix(line, "Client Version:"))
	}
	return m
}

// firstField returns the value of the first "key: value" line of a /proc file.
func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
