package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 for user space whatever the kernel's own HZ.
const userHZ = 100

// CPUTime is the CPU time (user + system) that pid has used so far, from
// /proc/<pid>/stat; its resolution is 10 ms.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("proc: cpu time of %d: %w", pid, err)
	}
	return parseStatCPU(data)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc: stat: no command name")
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("proc: stat: %d fields after the name, want at least 13", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc: stat: %q is not a tick count", s)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// Memory is a process's resident memory, from /proc/<pid>/status and
// /proc/<pid>/smaps_rollup.
type Memory struct {
	RSS  uint64 // VmRSS, bytes
	Peak uint64 // VmHWM, bytes: the highest RSS so far
	// Private is the resident memory no other process maps
	// (Private_Clean + Private_Dirty), bytes. A supervisor and its worker
	// run one binary, so the pages of its code they both touch count in
	// both RSS figures but take memory once: worker RSS + supervisor
	// Private is what the pair holds.
	Private uint64
}

// MemoryOf reads pid's resident memory.
func MemoryOf(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("proc: memory of %d: %w", pid, err)
	}
	m, err := parseStatusMemory(data)
	if err != nil {
		return m, err
	}
	if data, err = os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err != nil {
		return m, fmt.Errorf("proc: memory of %d: %w", pid, err)
	}
	m.Private, err = parsePrivate(data)
	return m, err
}

// parsePrivate sums Private_Clean and Private_Dirty of a smaps_rollup.
func parsePrivate(data []byte) (uint64, error) {
	var total uint64
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "Private_Clean" && key != "Private_Dirty") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("proc: smaps_rollup: %s: %q, want a count of kB", key, rest)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc: smaps_rollup: %s: %q, want a count of kB", key, rest)
		}
		total += kb * 1024
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("proc: smaps_rollup: no Private_Clean and Private_Dirty")
	}
	return total, nil
}

func parseStatusMemory(data []byte) (Memory, error) {
	var m Memory
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("proc: status: %s: %q, want a count of kB", key, rest)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("proc: status: %s: %q, want a count of kB", key, rest)
		}
		if key == "VmRSS" {
			m.RSS = kb * 1024
		} else {
			m.Peak = kb * 1024
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("proc: status: no VmRSS and VmHWM")
	}
	return m, nil
}

// Children lists the pids whose parent is pid (Linux: from
// /proc/<pid>/task/*/children); nil if there are none or they cannot be
// read.
func Children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// AwaitGone waits until pid has exited: /proc has no such process, or it
// is a zombie that nobody has reaped yet (it holds no files or ports any
// more). It polls every pollEvery; it fails when ctx ends. A pid reused
// by a new process in between would not count as gone, so call it soon
// after the kill.
func AwaitGone(ctx context.Context, pid int) error {
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err == nil:
			if state, ok := parseStatState(data); ok && (state == "Z" || state == "X") {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("proc: process %d still runs: %w", pid, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// parseStatState reads the state (field 3) of a /proc/<pid>/stat line,
// e.g. "R", "S", "T" or "Z".
func parseStatState(data []byte) (string, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) == 0 {
		return "", false
	}
	return f[0], true
}
