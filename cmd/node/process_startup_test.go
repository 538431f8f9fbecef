package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/internal/localproc"
	"github.com/synod/synod/storage"
)

// occupy listens on a fresh loopback port for the test's duration and
// returns it, as another program holding a node's port would.
func occupy(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// singleNodeFlags are the flags of a one-node cluster on listen and admin.
func singleNodeFlags(listen, admin, dataDir string) []string {
	return []string{"--cluster", "pt", "--id", "1", "--single-node", "--listen", listen, "--admin", admin, "--data-dir", dataDir}
}

// supervisionLog returns the supervision log of dataDir.
func supervisionLog(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "supervision.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProcessPortInUse: a node whose admin port or listen port another
// process holds fails at start with an error naming the setting and the
// address, before its transport starts (so it never joins the cluster,
// however briefly). The worker exits exitStartFailed at once; the
// supervisor retries, then stops after maxStartFailures identical
// failures, saying so in its log and with the same exit status.
func TestProcessPortInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	for _, which := range []string{"admin", "listen"} {
		t.Run(which, func(t *testing.T) {
			ports, err := localproc.FreePorts(2)
			if err != nil {
				t.Fatal(err)
			}
			busy := occupy(t)
			listen, admin := ports[0], busy
			if which == "listen" {
				listen, admin = busy, ports[1]
			}
			want := fmt.Sprintf("%s: cannot listen on %s: the port is in use by another process", which, busy)
			for _, supervised := range []bool{false, true} {
				dataDir := filepath.Join(t.TempDir(), "node")
				args := append([]string{"run"}, singleNodeFlags(listen, admin, dataDir)...)
				if !supervised {
					args = append(args, "--no-supervise")
				}
				start := time.Now()
				code, out := runOnce(t, 30*time.Second, args...)
				t.Logf("supervised %v: exit %d after %v: %s", supervised, code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(tail(out, 1)))
				if code != exitStartFailed || !strings.Contains(out, want) {
					t.Errorf("supervised %v: exit %d, want %d and %q; output:\n%s", supervised, code, exitStartFailed, want, out)
				}
				for _, never := range []string{"transport_started", "campaign", "leader_elected"} {
					if strings.Contains(out, never) {
						t.Errorf("supervised %v: output has %q: the node got as far as joining", supervised, never)
					}
				}
				if !supervised {
					continue
				}
				if !strings.Contains(out, fmt.Sprintf("worker failed to start %d times in a row, each time with: %s", maxStartFailures, want)) {
					t.Errorf("the supervisor does not say why it stopped:\n%s", tail(out, 3))
				}
				log := supervisionLog(t, dataDir)
				exits, restarts := strings.Count(log, `"event":"worker_exited"`), strings.Count(log, `"event":"worker_restarted"`)
				if exits != maxStartFailures || restarts != maxStartFailures-1 || strings.Count(log, "start failed: "+want) != maxStartFailures {
					t.Errorf("supervision.log: %d worker_exited, %d worker_restarted, want %d and %d, each exit saying why:\n%s",
						exits, restarts, maxStartFailures, maxStartFailures-1, log)
				}
			}
		})
	}
}

// TestProcessLockedDataDir: another process holds the lock of a node's
// synod.db. That may be brief (a previous process still exiting), so the
// supervisor retries: when the lock goes after the first failure, the
// node starts on a later try. When it stays, the supervisor stops after
// maxStartFailures identical failures, naming the file.
func TestProcessLockedDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	lock := func(t *testing.T, dataDir string) *bbolt.DB {
		t.Helper()
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		db, err := bbolt.Open(filepath.Join(dataDir, storage.DBFile), 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}

	t.Run("released", func(t *testing.T) {
		ports, err := localproc.FreePorts(2)
		if err != nil {
			t.Fatal(err)
		}
		dataDir := filepath.Join(t.TempDir(), "node")
		db := lock(t, dataDir)
		c := &procCluster{t: t, client: &http.Client{Timeout: 250 * time.Millisecond}}
		n := &procNode{id: 1, admin: ports[1], dataDir: dataDir, args: append([]string{"run"}, singleNodeFlags(ports[0], ports[1], dataDir)...)}
		c.nodes = []*procNode{n}
		t.Cleanup(c.cleanup)
		c.start(n)
		c.await("a start failure over the lock", procDeadline, func() bool {
			log, _ := os.ReadFile(filepath.Join(dataDir, "supervision.log"))
			return strings.Contains(string(log), "is locked by another process")
		})
		db.Close()
		c.awaitLeader(0, 0)
		if s, err := c.status(n); err != nil || s.Restarts == 0 {
			t.Errorf("status %+v, %v: want a worker started after a restart", s, err)
		}
	})

	t.Run("held", func(t *testing.T) {
		ports, err := localproc.FreePorts(2)
		if err != nil {
			t.Fatal(err)
		}
		dataDir := filepath.Join(t.TempDir(), "node")
		db := lock(t, dataDir)
		defer db.Close()
		code, out := runOnce(t, 60*time.Second, append([]string{"run"}, singleNodeFlags(ports[0], ports[1], dataDir)...)...)
		t.Logf("exit %d: %s", code, strings.TrimSpace(tail(out, 1)))
		path := filepath.Join(dataDir, storage.DBFile)
		if code != exitStartFailed || !strings.Contains(out, fmt.Sprintf("worker failed to start %d times in a row", maxStartFailures)) ||
			!strings.Contains(tail(out, 1), path+" is locked by another process") {
			t.Errorf("exit %d, want %d and a last line naming %s as locked; output:\n%s", code, exitStartFailed, path, tail(out, 5))
		}
		if strings.Contains(out, "transport_started") {
			t.Error("a worker started its transport on a locked data dir")
		}
	})
}
