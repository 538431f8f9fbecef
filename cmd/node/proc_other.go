//go:build unix && !linux

package main

import "syscall"

// workerProcAttr puts a child in its own process group, so that a
// terminal's Ctrl-C reaches only its parent, which then stops it in order.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
