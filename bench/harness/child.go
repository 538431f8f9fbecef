package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runChild runs bin with args in dir and returns what it wrote on stdout.
// Each line it writes on stderr goes to logPath and to onLine (if set). On
// Ctrl-C the child gets SIGTERM, so that it can stop its own children,
// and SIGKILL 30 s later.
func runChild(ctx context.Context, bin string, args []string, dir, logPath string, onLine func(string)) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if onLine != nil {
				onLine(sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	runErr := cmd.Run()
	pw.Close()
	<-scanned
	if runErr != nil {
		runErr = fmt.Errorf("%s %s: %w (its stderr: %s)", filepath.Base(bin), strings.Join(args, " "), runErr, logPath)
	}
	return stdout.Bytes(), runErr
}

// progressLine reads "<prefix>progress D/T", the line the nested
// modules' drivers write after each step.
func progressLine(line, prefix string) (done, total int, ok bool) {
	rest, found := strings.CutPrefix(line, prefix+"progress ")
	if !found {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(rest, "%d/%d", &done, &total); err != nil || total <= 0 {
		return 0, 0, false
	}
	return done, total, true
}
