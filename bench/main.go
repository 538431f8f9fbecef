// Command bench runs synod's benchmark harness. The harness is a module of
// its own (bench/harness), so that its plotting and progress-bar libraries
// never enter synod's go.mod; this command, in synod's module, builds it
// and runs it in the current directory with the same arguments, so that
//
//	go run ./bench <failover|confirm|elect|transport|idle|restart|retention|compare|peers|all> [flags]
//
// works from the checkout. go run ./bench help lists the scenarios.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/synod/synod").Output()
	root := strings.TrimSpace(string(out))
	if err != nil || root == "" {
		return 1, fmt.Errorf("find synod's module (run me inside its checkout): %v", err)
	}
	tmp, err := os.MkdirTemp("", "synod-bench-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(root, "bench", "harness")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 1, fmt.Errorf("build the harness (bench/harness): %w", err)
	}
	// The harness stops its clusters on SIGINT and SIGTERM; it gets them
	// from the terminal too (same process group), so this one only waits.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
