package proc

import (
	"os"
	"testing"
)

func TestParsePrivate(t *testing.T) {
	rollup := "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 14832 kB\nPss: 7735 kB\nShared_Clean: 13000 kB\nPrivate_Clean: 8 kB\nPrivate_Dirty: 1832 kB\n"
	got, err := parsePrivate([]byte(rollup))
	if err != nil || got != (8+1832)*1024 {
		t.Fatalf("parsePrivate = %d, %v; want %d", got, err, (8+1832)*1024)
	}
	if _, err := parsePrivate([]byte("Rss: 1 kB\n")); err == nil {
		t.Fatal("a rollup without Private_* parsed")
	}
	if _, err := parsePrivate([]byte("Private_Clean:\nPrivate_Dirty: 1 kB\n")); err == nil {
		t.Fatal("an empty Private_Clean parsed")
	}
}

// TestMemoryOfSelf: this process's private memory is resident and at most
// its RSS.
func TestMemoryOfSelf(t *testing.T) {
	m, err := MemoryOf(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.Private == 0 || m.Private > m.RSS {
		t.Fatalf("private %d bytes, RSS %d", m.Private, m.RSS)
	}
}
