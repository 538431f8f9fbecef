package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/learner"
	"github.com/synod/synod/storage"

	"github.com/synod/synod/internal/localproc"
)

// flipLearnerRecord flips the last byte of the first decision the learner
// stored in the database at path (bucket "decided", storage.Learner's). The record stays a valid bbolt value, so only the
// record's own CRC-32C can tell; the acceptor's records are untouched.
func flipLearnerRecord(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("decided"))
		if b == nil {
			return errors.New("no learner bucket \"decided\"")
		}
		k, v := b.Cursor().First()
		if k == nil {
			return errors.New("the learner stored no decision")
		}
		v = append([]byte(nil), v...)
		v[len(v)-1] ^= 0x5a
		return b.Put(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestProcessLearnerCorruptRecordRefused damages one of the learner's
// stored decisions and starts the node on it, supervised and not. The
// learner's records are checked at open like the acceptor's: the worker
// must refuse to start, naming the file and the damage, before it serves
// anything, and exit exitCannotStart; the supervisor must stop at once
// rather than restart it, and the learner actor must never crash-loop.
func TestProcessLearnerCorruptRecordRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	good := filepath.Join(t.TempDir(), "good")
	singleNodeState(t, good)

	for _, tc := range []struct {
		name string
		sub  []string
		code int
		want string
	}{
		{"supervised", []string{"run"}, exitCannotStart, "restarting cannot fix that, so the supervisor stops"},
		{"worker", []string{"run", "--no-supervise"}, exitCannotStart, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "node")
			copyDir(t, good, dataDir)
			flipLearnerRecord(t, filepath.Join(dataDir, storage.DBFile))
			ports, err := localproc.FreePorts(2)
			if err != nil {
				t.Fatal(err)
			}
			args := append(tc.sub, "--cluster", "pt", "--id", "1", "--single-node", "--listen", ports[0], "--admin", ports[1], "--data-dir", dataDir)
			code, out := runOnce(t, 20*time.Second, args...)
			t.Logf("exit %d:\n%s", code, tail(out, 4))
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, want := range []string{"learner", "store record corrupt", "checksum", filepath.Join(dataDir, storage.DBFile), tc.want} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			for _, never := range []string{"transport_started", "actor_failed", "actor_restarted", "panic"} {
				if strings.Contains(out, never) {
					t.Errorf("output has %q: the node went on with a damaged learner store", never)
				}
			}
			if tc.name != "supervised" {
				return
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

// fillTmpfs fills the file system at dir: one big file, then the last
// blocks in small files under dir/fill. freeTmpfs undoes it.
func fillTmpfs(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
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
	// bbolt writes into pages it already has; use those up too.
	fillRest(t, dir)
}

// freeTmpfs removes what fillTmpfs wrote.
func freeTmpfs(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"fill", "filler"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProcessLearnerFullDisk gives node 3 a 2 MiB tmpfs as its data dir
// and fills it. Node 3's learner must say that its store fails
// (learner_store_failed), once, and go on learning: its /status must
// follow every new leader while the disk stays full, with no panic and no
// restart of the learner or the worker. Once space is freed, the learner
// must save what it could not and say so (learner_store_recovered) with no
// election to prompt it.
func TestProcessLearnerFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	c := newProcCluster(t, 3, []string{"run"}, func(id int) []string {
		if id == 3 {
			return []string{"--data-dir", mnt} // the later flag wins
		}
		return nil
	})
	full := c.node(3)
	leader, term := c.awaitLeader(0, 0)
	pid := c.workerPID(full)
	fillTmpfs(t, mnt)

	failed := `"event":"` + learner.EventStoreFailed + `"`
	// Each election is a decision that node 3's learner must save. Hand
	// leadership round until one of those saves has failed, and a few
	// more times; node 3 must know each new leader.
	for round, after := 0, 0; after < 3; round++ {
		if round == 300 {
			t.Fatalf("node 3 never reported %s after %d elections", learner.EventStoreFailed, round)
		}
		if strings.Contains(full.output(), failed) {
			after++
		}
		if _, err := c.client.Post("http://"+leader.admin+"/resign", "", nil); err != nil {
			t.Logf("resign on node %d: %v", leader.id, err)
		}
		leader, term = c.awaitLeader(0, term)
		c.await(fmt.Sprintf("node 3 to know leader %d of term %d", leader.id, term), procDeadline, func() bool {
			s, err := c.status(full)
			return err == nil && s.Term >= term && s.Leader != 0
		})
		if s, _ := c.status(full); s.Term == term && int(s.Leader) != leader.id {
			t.Fatalf("node 3 names leader %d for term %d, which node %d leads", s.Leader, term, leader.id)
		}
	}
	t.Logf("reached term %d; node 3 followed 3 elections after its learner store failed", term)
	if n := strings.Count(full.output(), failed); n != 1 {
		t.Errorf("node 3 logged %s %d times, want once until it recovers", learner.EventStoreFailed, n)
	}

	freeTmpfs(t, mnt)
	c.await("node 3's learner to recover", procDeadline, func() bool {
		return strings.Contains(full.output(), `"event":"`+learner.EventStoreRecovered+`"`)
	})
	for l := range strings.Lines(full.output()) {
		if strings.Contains(l, `store_`) {
			t.Logf("node 3: %s", strings.TrimSpace(l))
		}
	}
	out := full.output()
	for _, never := range []string{"panic", `"actor":"learner","restarts"`, "actor_restarted"} {
		if strings.Contains(out, never) {
			t.Errorf("node 3's output has %q", never)
		}
	}
	if now := c.workerPID(full); now != pid {
		t.Fatalf("node 3's worker is pid %d, was %d: the full disk restarted it", now, pid)
	}
}
