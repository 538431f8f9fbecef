package proc

import (
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := []byte("4242 (syn od) (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 9 0 100 2000000 3000 18446744073709551615\n")
	got, err := parseStatCPU(line)
	if err != nil || got != 1750*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 1.75s (150+25 ticks)", got, err)
	}
	if _, err := parseStatCPU([]byte("1 (x) S 1 2")); err == nil {
		t.Error("a short stat line was accepted")
	}
	if _, err := parseStatCPU([]byte("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 2 0 0")); err == nil {
		t.Error("a non-numeric utime was accepted")
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := []byte("Name:\tsynod\nVmHWM:\t   30000 kB\nVmRSS:\t   22528 kB\nThreads:\t9\n")
	m, err := parseStatusMemory(status)
	if err != nil || m.RSS != 22528*1024 || m.Peak != 30000*1024 {
		t.Errorf("parseStatusMemory = %+v, %v", m, err)
	}
	if _, err := parseStatusMemory([]byte("Name:\tx\nVmRSS:\t12 MB\nVmHWM:\t1 kB\n")); err == nil {
		t.Error("a VmRSS not in kB was accepted")
	}
	if _, err := parseStatusMemory([]byte("Name:\tkernel-thread\n")); err == nil {
		t.Error("a status without VmRSS was accepted")
	}
}
