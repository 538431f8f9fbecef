package netns

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Sweep removes the namespaces and links that an earlier run of this
// package left behind when its process died before Close (a test binary
// killed by a timeout, say). It touches only names whose owner pid is no
// longer alive, so parallel runs are safe. Best effort: errors are
// ignored.
func Sweep() {
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && staleName(f[0]) {
				_ = ip("netns", "del", f[0])
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line) // "7: snXXXXXXb: <...>" or "8: snXXh1@if2: ..."
			if len(f) < 2 {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if staleName(name) {
				_ = ip("link", "del", name)
			}
		}
	}
}

// staleName reports whether name is one of ours ("sn" + 6 hex digits of
// the owner's pid + 4 random hex digits + a suffix) whose owner is gone.
func staleName(name string) bool {
	if !strings.HasPrefix(name, namePrefix) || len(name) < len(namePrefix)+10 {
		return false
	}
	pid, err := strconv.ParseUint(name[len(namePrefix):len(namePrefix)+6], 16, 32)
	if err != nil || pid == 0 {
		return false
	}
	if _, err := strconv.ParseUint(name[len(namePrefix)+6:len(namePrefix)+10], 16, 32); err != nil {
		return false
	}
	// Signal 0 probes for the process; EPERM means it exists.
	err = syscall.Kill(int(pid), 0)
	return err == syscall.ESRCH
}
