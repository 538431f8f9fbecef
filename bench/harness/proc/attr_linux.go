package proc

import "syscall"

// supervisorAttr puts a supervisor in its own process group and has the
// kernel send it SIGTERM if the harness dies, even by SIGKILL.
func supervisorAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
