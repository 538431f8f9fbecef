package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where and on what a run measured, so that a reader
// can judge the numbers (and compare runs).
type machine struct {
	Date      string `json:"date"` // UTC, RFC 3339, when the run started
	Hostname  string `json:"hostname"`
	OS        string `json:"os"`
	CPU       string `json:"cpu,omitempty"`
	Cores     int    `json:"cores"`
	MemoryMB  uint64 `json:"memory_mb"`
	Disk      disk   `json:"disk"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"git_commit"`
	Dirty     bool   `json:"git_dirty"`
	// LoadAverage is /proc/loadavg's 1-, 5- and 15-minute averages when
	// the run started; each scenario records its own (scenarioRun).
	LoadAverage [3]float64 `json:"load_average"`
}

// disk is the filesystem holding the nodes' data directories.
type disk struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Device string `json:"device"`
}

// describeMachine gathers machine; what it cannot learn it leaves empty.
// dataDir is where the nodes keep their stores.
func describeMachine(started time.Time, dataDir string) machine {
	m := machine{Date: started.UTC().Format(time.RFC3339), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.Hostname, _ = os.Hostname()
	m.CPU = cpuModel()
	m.MemoryMB = memTotalMB()
	m.Disk = diskOf(dataDir)
	m.LoadAverage = loadAverage()
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		m.Dirty = len(strings.TrimSpace(string(out))) > 0
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotalMB() uint64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb / 1024
		}
	}
	return 0
}

// diskOf finds the mount holding path in /proc/self/mountinfo: the
// longest mount point that is a prefix of it.
func diskOf(path string) disk {
	d := disk{Path: path}
	abs, err := filepath.Abs(path)
	if err != nil {
		return d
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	d.Path = abs
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return d
	}
	best := -1
	for _, line := range strings.Split(string(data), "\n") {
		mount, fsType, device, ok := parseMountinfo(line)
		if !ok || !within(abs, mount) || len(mount) <= best {
			continue
		}
		best, d.Type, d.Device = len(mount), fsType, device
	}
	return d
}

// parseMountinfo reads the mount point (field 5) and, after the " - "
// separator, the filesystem type and source of a mountinfo line.
func parseMountinfo(line string) (mount, fsType, device string, ok bool) {
	left, right, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", false
	}
	lf, rf := strings.Fields(left), strings.Fields(right)
	if len(lf) < 5 || len(rf) < 2 {
		return "", "", "", false
	}
	return unescapeOctal(lf[4]), rf[0], rf[1], true
}

// within reports whether path is mount or below it.
func within(path, mount string) bool {
	return mount == "/" || path == mount || strings.HasPrefix(path, mount+"/")
}

// unescapeOctal undoes mountinfo's \040-style escapes (space, tab, ...).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// loadAverage reads /proc/loadavg's 1-, 5- and 15-minute load averages
// (zeros where it cannot).
func loadAverage() [3]float64 {
	var l [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(data))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}
