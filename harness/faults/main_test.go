package faults_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/synod/synod/harness/netns"
)

var (
	longRun = flag.Bool("faults.long", false, "hold every fault longer and run more traffic")
	seedArg = flag.Uint64("faults.seed", 0, "seed of the clients and the fault schedules (0: from the clock)")
)

// The binaries the tests run, built once: normal builds, not race
// builds, so that the nodes keep their timing under a -race test run.
var synodBin, lockdBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if err := netns.Available(); err != nil {
		// Every test skips and says why (newCluster); nothing to build.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "synod-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	synodBin, lockdBin = filepath.Join(dir, "synod"), filepath.Join(dir, "lockd")
	// Built in synod's own module (the repository root), as a user builds
	// them, not with this test module's requirements.
	for bin, pkg := range map[string]string{synodBin: "./cmd/node", lockdBin: "./examples/fencedlock/lockd"} {
		if out, err := exec.Command("go", "build", "-C", "../..", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// seed returns the run's seed, printed with how to replay it.
func seed(t *testing.T) uint64 {
	s := *seedArg
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: cd harness/faults && go test . -run '%s' -faults.seed=%d)", s, t.Name(), s)
	return s
}

// hold is how long a fault lasts.
func hold() time.Duration {
	if *longRun {
		return 8 * time.Second
	}
	return 2500 * time.Millisecond
}

// traffic is how long the clients run before a fault and after the
// service returns.
func traffic() time.Duration {
	if *longRun {
		return 5 * time.Second
	}
	return time.Second
}

// skipUnlessNamespaces skips t in -short mode, or where this machine or
// user cannot build network namespaces, and says why.
func skipUnlessNamespaces(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs multi-process clusters in network namespaces")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}
