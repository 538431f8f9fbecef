package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/storage"

	"github.com/synod/synod/internal/localproc"
)

// mountTmpfs mounts a tmpfs of size on a fresh directory and returns it;
// cleanup unmounts it, also when the test fails. It skips, saying why,
// when the kernel or privileges refuse the mount.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v): this test needs root or CAP_SYS_ADMIN", dir, err)
	}
	// Registered after TempDir's own cleanup, so it runs before it.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// remountReadOnly makes the tmpfs at dir read-only.
func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount %s read-only: %v", dir, err)
	}
}

// runOnce runs "synod <args>" with a bound and returns its exit code and
// output; it fails the test if the process does not exit in time.
func runOnce(t *testing.T, within time.Duration, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(synodBin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = &out, &out, localproc.EnvWithoutSynod()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatalf("synod %v: %v", args, err)
		}
		return 0, out.String()
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("synod %v still runs after %v (a restart loop?); output:\n%s", args, within, tail(out.String(), 30))
		return 0, ""
	}
}

// singleNodeState runs a one-node cluster on dataDir until it leads (so
// its acceptor has promised and accepted), then stops it gracefully.
func singleNodeState(t *testing.T, dataDir string) {
	t.Helper()
	ports, err := localproc.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	c := &procCluster{t: t, client: &http.Client{Timeout: 250 * time.Millisecond}}
	n := &procNode{id: 1, admin: ports[1], dataDir: dataDir,
		args: []string{"run", "--no-supervise", "--cluster", "pt", "--id", "1", "--single-node", "--listen", ports[0], "--admin", ports[1], "--data-dir", dataDir}}
	c.nodes = []*procNode{n}
	t.Cleanup(c.cleanup)
	c.start(n)
	c.awaitLeader(0, 0)
	c.signal(n, syscall.SIGTERM)
	if err := c.awaitExit(n, procDeadline); err != nil {
		t.Fatalf("node exited with %v after SIGTERM", err)
	}
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProcessCorruptDatabaseRefused damages a node's synod.db three ways
// and starts "synod run" on it: the worker must refuse to start, saying
// what is wrong, before it serves anything (so it never answers with a
// forgotten promise), and the supervisor must give up at once with a
// clear message rather than restart it forever.
func TestProcessCorruptDatabaseRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	good := filepath.Join(t.TempDir(), "good")
	singleNodeState(t, good)

	damage := map[string]struct {
		do   func(t *testing.T, db string)
		want string
	}{
		"truncated": {func(t *testing.T, db string) {
			info, err := os.Stat(db)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(db, info.Size()/2+100); err != nil {
				t.Fatal(err)
			}
		}, "is truncated"},
		// The acceptor's records are msgpack behind a CRC-32C (see
		// storage/record.go); bbolt's own checks see nothing wrong.
		"record bytes flipped": {func(t *testing.T, db string) {
			bdb, err := bbolt.Open(db, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer bdb.Close()
			err = bdb.Update(func(tx *bbolt.Tx) error {
				b := tx.Bucket([]byte("acceptor")) // the records bucket of storage.Acceptor
				if b == nil {
					return errors.New("no acceptor bucket")
				}
				k, v := b.Cursor().First()
				if k == nil {
					return errors.New("no acceptor record")
				}
				v = append([]byte(nil), v...)
				v[len(v)-1] ^= 0x5a
				return b.Put(k, v)
			})
			if err != nil {
				t.Fatal(err)
			}
		}, "store record corrupt"},
		"page zeroed": {func(t *testing.T, db string) {
			b, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			// Zero the live root page, which holds the (inline) acceptor
			// buckets. bbolt's two meta pages each name a root page at
			// byte 32 and a transaction id at byte 64; the newer one is
			// live. (The last copy of a record in the file may be a
			// freed page, whose loss harms nothing.)
			const pageSize = 4096
			root, txid := uint64(0), uint64(0)
			for m := 0; m < 2; m++ {
				meta := b[m*pageSize:]
				if id := binary.LittleEndian.Uint64(meta[64:]); id >= txid {
					root, txid = binary.LittleEndian.Uint64(meta[32:]), id
				}
			}
			if root < 2 || int(root+1)*pageSize > len(b) {
				t.Fatalf("root page %d of a %d-byte file", root, len(b))
			}
			copy(b[root*pageSize:(root+1)*pageSize], make([]byte, pageSize))
			if err := os.WriteFile(db, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "corrupt"},
	}
	for name, tc := range damage {
		t.Run(name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "node")
			copyDir(t, good, dataDir)
			tc.do(t, filepath.Join(dataDir, storage.DBFile))
			ports, err := localproc.FreePorts(2)
			if err != nil {
				t.Fatal(err)
			}
			code, out := runOnce(t, 20*time.Second, "run", "--cluster", "pt", "--id", "1", "--single-node", "--listen", ports[0],
				"--admin", ports[1], "--data-dir", dataDir)
			t.Logf("exit %d:\n%s", code, tail(out, 4))
			if code == 0 {
				t.Fatal("synod run exited 0 on a damaged database")
			}
			for _, want := range []string{tc.want, storage.DBFile, "restarting cannot fix that, so the supervisor stops"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if strings.Contains(out, "transport_started") {
				t.Error("the worker started its transport on a damaged database")
			}
			log, err := os.ReadFile(filepath.Join(dataDir, "supervision.log"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(log), `"event":"worker_exited"`); n != 1 || strings.Contains(string(log), "worker_restarted") {
				t.Errorf("supervision.log shows %d worker exits and restarts: %s", n, log)
			}
		})
	}
}

// TestProcessReadOnlyDataDirRefused: a data dir on a read-only file system
// is refused at start, supervised or not, with an error that says so.
func TestProcessReadOnlyDataDirRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	mnt := mountTmpfs(t, "4m")
	dataDir := filepath.Join(mnt, "node")
	singleNodeState(t, dataDir)
	remountReadOnly(t, mnt)

	ports, err := localproc.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--cluster", "pt", "--id", "1", "--single-node", "--listen", ports[0], "--admin", ports[1], "--data-dir", dataDir}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{append([]string{"run"}, flags...), exitCannotStart},
		{append([]string{"run", "--no-supervise"}, flags...), exitCannotStart},
	} {
		code, out := runOnce(t, 20*time.Second, tc.args...)
		t.Logf("synod %s: exit %d: %s", tc.args[:2], code, strings.TrimSpace(tail(out, 1)))
		if code != tc.code || !strings.Contains(out, "data dir not writable: "+dataDir) || !strings.Contains(out, "read-only file system") {
			t.Errorf("synod %v: exit %d, want %d and a data-dir-not-writable error naming the dir; output:\n%s", tc.args, code, tc.code, out)
		}
	}
}

// metricValue returns a node's gauge or counter name (no labels), or -1
// when the node does not answer.
func metricValue(c *procCluster, n *procNode, name string) float64 {
	mfs, err := scrapeNode(c.client, n.admin)
	if err != nil {
		return -1
	}
	v, _ := value(mfs, name, nil)
	return v
}

// TestProcessFullDisk gives node 3 a 2 MiB tmpfs as its data dir and fills
// it. Node 3 must say its store fails (log line, synod_store_failing) and
// refuse to vote, without crashing or restarting; nodes 1 and 2 must go on
// electing leaders that confirm. Once space is freed, node 3 must recover
// on its own.
func TestProcessFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	c := newProcCluster(t, 3, []string{"run"}, func(id int) []string {
		if id == 3 {
			return []string{"--data-dir", mnt} // the later flag wins
		}
		return nil
	})
	full := c.node(3)
	c.awaitLeader(0, 0)
	pid := c.workerPID(full)

	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for chunk := make([]byte, 64<<10); ; {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the tmpfs: %v", err)
			}
			break
		}
	}
	f.Close()
	// bbolt writes into pages it already has; use those up too, small
	// block by small block.
	fillRest(t, mnt)

	// Elections make every acceptor write. Hand leadership around until
	// node 3 has failed a write and says its store fails; each time, a
	// leader must come back and confirm. A later write may still succeed
	// now and then, in a page bbolt freed (store_recovered), so wait for
	// the failing state itself, not only for a failure once logged.
	term := uint64(0)
	failing := func() bool {
		return strings.Contains(full.output(), `"event":"`+acceptor.EventStoreFailed+`"`) &&
			metricValue(c, full, "synod_store_failing") == 1
	}
	for round := 0; !failing(); round++ {
		if round == 20 {
			t.Fatalf("node 3 never reported %s with synod_store_failing 1 after %d elections", acceptor.EventStoreFailed, round)
		}
		var leader *procNode
		leader, term = c.awaitLeader(0, term)
		awaitConfirm(t, c)
		if _, err := c.client.Post("http://"+leader.admin+"/resign", "", nil); err != nil {
			t.Logf("resign on node %d: %v", leader.id, err)
		}
	}
	if v := metricValue(c, full, "synod_store_failures_total"); v < 1 {
		t.Errorf("synod_store_failures_total = %v on node 3, want at least 1", v)
	}
	// The others carry on: another election, and a leader that confirms.
	leader, term := c.awaitLeader(0, term)
	_, _ = c.client.Post("http://"+leader.admin+"/resign", "", nil)
	c.awaitLeader(0, term)
	awaitConfirm(t, c)
	if now := c.workerPID(full); now != pid {
		t.Fatalf("node 3's worker is pid %d, was %d: the full disk restarted it", now, pid)
	}
	if strings.Contains(full.output(), "panic") {
		t.Error("node 3's output mentions a panic")
	}

	// Free the space: node 3's next write succeeds and it says so.
	if err := os.RemoveAll(filepath.Join(mnt, "fill")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for round := 0; metricValue(c, full, "synod_store_failing") != 0; round++ {
		if round == 10 {
			t.Fatalf("node 3 did not recover after %d elections with space free", round)
		}
		leader, term = c.awaitLeader(0, term)
		_, _ = c.client.Post("http://"+leader.admin+"/resign", "", nil)
		c.awaitLeader(0, term)
	}
	for l := range strings.Lines(full.output()) {
		if strings.Contains(l, `"event":"store_`) || strings.Contains(l, `"level":"error"`) {
			t.Logf("node 3: %s", strings.TrimSpace(l))
		}
	}
	if !strings.Contains(full.output(), `"event":"`+acceptor.EventStoreRecovered+`"`) {
		t.Errorf("node 3 recovered without logging %s", acceptor.EventStoreRecovered)
	}
	if now := c.workerPID(full); now != pid {
		t.Fatalf("node 3's worker is pid %d, was %d", now, pid)
	}
}

// fillRest takes the last blocks of the file system at dir in small files.
func fillRest(t *testing.T, dir string) {
	t.Helper()
	sub := filepath.Join(dir, "fill")
	if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		err := os.WriteFile(filepath.Join(sub, strconv.Itoa(i)), make([]byte, 512), 0o600)
		if err != nil {
			return
		}
	}
}

// awaitConfirm waits until some node leads and confirms its leadership.
func awaitConfirm(t *testing.T, c *procCluster) {
	t.Helper()
	c.await("a leader that confirms", procDeadline, func() bool {
		st, ok := c.statuses()
		for i, s := range st {
			if ok[i] && s.IsLeader {
				code, _ := confirm(t, c.nodes[i])
				return code == http.StatusOK
			}
		}
		return false
	})
}
