package acceptor

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// mountSmallTmpfs mounts a tmpfs of size bytes on a fresh directory and
// returns it; cleanup unmounts it, also when the test fails. It skips when
// the mount is refused (not root, or no CAP_SYS_ADMIN).
func mountSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v); the full-disk behaviour is untested", err)
	}
	// Registered after TempDir's cleanup, so it runs first.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file into dir until the file system is full, and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// TestBoltStoreFullDisk: with no space left, Save fails with ENOSPC and
// saves nothing; once space is freed, Save works again on the same open
// store, and a reload holds exactly what was saved successfully.
func TestBoltStoreFullDisk(t *testing.T) {
	dir := mountSmallTmpfs(t, "1m")
	db, s := openBolt(t, dir)
	mustSave(t, s, promised(1, 1))
	filler := fillDisk(t, dir)

	var failed error
	for i := uint64(2); i < 200 && failed == nil; i++ {
		// Each record is bigger than a page, so the file must grow.
		failed = s.Save([]Record{accepted(i, 1, string(make([]byte, 8192)))})
	}
	if !errors.Is(failed, syscall.ENOSPC) {
		t.Fatalf("Save on a full disk = %v, want ENOSPC", failed)
	}
	t.Logf("full disk: %v", failed)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, promised(500, 7))
	_ = s.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, s = openBolt(t, dir)
	snap := mustLoad(t, s)
	got := map[uint64]State{}
	for _, r := range snap.Records {
		got[r.Instance] = r.State
	}
	if !reflect.DeepEqual(got[1], promised(1, 1).State) || !reflect.DeepEqual(got[500], promised(500, 7).State) {
		t.Errorf("after recovery and reload: %v", got)
	}
}
