//go:build !linux

package proc

import "syscall"

// supervisorAttr puts a supervisor in its own process group. Outside Linux
// there is no parent-death signal: a harness killed by SIGKILL leaves its
// nodes running.
func supervisorAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
