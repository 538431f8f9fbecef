package main

import "syscall"

// workerProcAttr puts a child in its own process group, so that a
// terminal's Ctrl-C reaches only its parent (which then stops it in
// order), and sends it SIGTERM if the parent dies, so that no node
// outlives its supervisor.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
