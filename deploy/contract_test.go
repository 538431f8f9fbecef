// Package deploy tests the deployment examples beside it against what the
// node binary expects of them. It is a module of its own so that
// k8s.io/api, which only these tests need, stays out of synod's go.mod.
package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeConst reads an integer constant of the node binary from its source
// (this module cannot import package main): the line "name = N" or "name
// = N * time.Second" in ../cmd/node/file. A rename or a new form fails
// the test, which is the point: the examples must follow the node.
func nodeConst(t *testing.T, file, name string) int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "cmd", "node", file))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:const\s+)?` + regexp.QuoteMeta(name) + `\s*=\s*(\d+)(\s*\*\s*time\.Second)?\b`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("no %q = N (or N * time.Second) in cmd/node/%s: update this test to the node", name, file)
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// closeTimeout is how long a node's shutdown (resign, hand-off, close)
// may take after SIGTERM.
func closeTimeout(t *testing.T) time.Duration {
	return time.Duration(nodeConst(t, "worker.go", "closeTimeout")) * time.Second
}

var (
	buildOnce sync.Once
	synodBin  string
	buildErr  error
)

// synod builds the node binary once, from the enclosing module.
func synod(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "synod-deploy-test-")
		if err != nil {
			buildErr = err
			return
		}
		synodBin = filepath.Join(dir, "synod")
		out, err := exec.Command("go", "build", "-C", "..", "-o", synodBin, "./cmd/node").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/node: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return synodBin
}

// checkNode runs "synod run --check --config path args..." and returns
// its output; the settings must be valid.
func checkNode(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(synod(t), append([]string{"run", "--check", "--config", path}, args...)...)
	cmd.Env = envWithoutSynod()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("synod run --check --config %s %s: %v\n%s", path, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// envWithoutSynod drops SYNOD_* settings, which would override the file.
func envWithoutSynod() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNOD_") {
			env = append(env, kv)
		}
	}
	return env
}

func TestMain(m *testing.M) {
	code := m.Run()
	if synodBin != "" {
		os.RemoveAll(filepath.Dir(synodBin))
	}
	os.Exit(code)
}
