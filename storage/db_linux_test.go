package storage

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestOpenRefusesReadOnlyDir checks that Open's write probe catches a
// data dir the process cannot write.
//
// As a normal user a mode-0500 dir is read-only. Root ignores mode bits, so
// as root the test makes dir a read-only bind mount of itself instead. The
// mount lives in a private mount namespace of one locked OS thread, which
// exits with its goroutine: nothing is left mounted and no other process
// sees it. Without CAP_SYS_ADMIN (unshare or mount fails) the test skips.
func TestOpenRefusesReadOnlyDir(t *testing.T) {
	dir := t.TempDir()
	var err error
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		err = openErr(dir, testOwner)
	} else {
		var skip string
		skip, err = inReadOnlyMount(dir, func(dir string) error { return openErr(dir, testOwner) })
		if skip != "" {
			t.Skipf("running as root and cannot make a read-only bind mount (%s); the probe is untested", skip)
		}
	}
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("Open on a read-only dir = %v, want a \"not writable\" error", err)
	}
	if !errors.Is(err, ErrNotWritable) || !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.EACCES) {
		t.Errorf("error %v is not ErrNotWritable or does not carry the cause (EROFS or EACCES)", err)
	}
}

// inReadOnlyMount runs fn(dir) on a thread that sees dir mounted read-only.
// It reports why when it cannot set that up.
func inReadOnlyMount(dir string, fn func(string) error) (skip string, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the runtime ends the thread, and its mount
		// namespace with it, when this goroutine returns.
		runtime.LockOSThread()
		steps := []struct {
			what string
			do   func() error
		}{
			{"unshare mount namespace", func() error { return syscall.Unshare(syscall.CLONE_NEWNS) }},
			// Keep the mounts below from propagating to the host.
			{"make mounts private", func() error { return syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, "") }},
			{"bind mount", func() error { return syscall.Mount(dir, dir, "", syscall.MS_BIND, "") }},
			{"remount read-only", func() error {
				return syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
			}},
		}
		for _, s := range steps {
			if e := s.do(); e != nil {
				skip = s.what + ": " + e.Error()
				return
			}
		}
		err = fn(dir)
	}()
	<-done
	return skip, err
}
