package netns_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/harness/netns"
)

// The test binary doubles as a helper that runs inside a namespace:
// NETNS_HELPER=serve:ADDR accepts connections until killed, and
// NETNS_HELPER=dial:ADDR exits 0 if a connection opens within a second.
func TestMain(m *testing.M) {
	if h := os.Getenv("NETNS_HELPER"); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	what, addr, _ := strings.Cut(h, ":")
	switch what {
	case "serve":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return 1
			}
			c.Close()
		}
	case "dial":
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return 1
		}
		c.Close()
		return 0
	}
	return 2
}

func newNet(t *testing.T, n int) *netns.Net {
	t.Helper()
	nt, err := netns.New(n)
	if errors.Is(err, netns.ErrUnavailable) {
		t.Skipf("network namespaces unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nt.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return nt
}

// inNS runs the test binary as a helper in node i's namespace.
func inNS(nt *netns.Net, i int, h string) *exec.Cmd {
	cmd := nt.Command(i, os.Args[0])
	cmd.Env = append(os.Environ(), "NETNS_HELPER="+h)
	return cmd
}

func serve(t *testing.T, nt *netns.Net, i int) string {
	t.Helper()
	addr := net.JoinHostPort(nt.Node(i).Addr, "7070")
	cmd := inNS(nt, i, "serve:"+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond) // polling another process
	}
	t.Fatalf("node %d: no listener on %s", i, addr)
	return ""
}

func reaches(nt *netns.Net, from int, addr string) bool {
	return inNS(nt, from, "dial:"+addr).Run() == nil
}

func rootReaches(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestCutIsolateLinkDown checks each fault against real connections: a
// cut stops the two nodes it names and no one else, the root namespace
// reaches a cut-off node, a link set down stops even the root, and healing
// restores everything.
func TestCutIsolateLinkDown(t *testing.T) {
	nt := newNet(t, 3)
	s2, s3 := serve(t, nt, 2), serve(t, nt, 3)
	check := func(when string, from int, addr string, want bool) {
		t.Helper()
		if got := reaches(nt, from, addr); got != want {
			t.Errorf("%s: node %d reaches %s: %v, want %v", when, from, addr, got, want)
		}
	}
	check("at start", 1, s2, true)
	check("at start", 1, s3, true)

	if err := nt.Cut(1, 2); err != nil {
		t.Fatal(err)
	}
	check("cut 1-2", 1, s2, false)
	check("cut 1-2", 1, s3, true)
	check("cut 1-2", 3, s2, true)
	if !rootReaches(s2) {
		t.Error("cut 1-2: the root namespace lost node 2")
	}
	if err := nt.Heal(1, 2); err != nil {
		t.Fatal(err)
	}
	check("healed", 1, s2, true)

	if err := nt.Isolate(3); err != nil {
		t.Fatal(err)
	}
	check("isolate 3", 1, s3, false)
	check("isolate 3", 2, s3, false)
	check("isolate 3", 1, s2, true)
	if !rootReaches(s3) {
		t.Error("isolate 3: the root namespace lost node 3")
	}
	if got := len(nt.Cuts()); got != 4 {
		t.Errorf("isolate 3 of 3: %d one-way cuts, want 4", got)
	}
	if err := nt.HealAll(); err != nil {
		t.Fatal(err)
	}
	check("heal all", 1, s3, true)

	if err := nt.LinkDown(2); err != nil {
		t.Fatal(err)
	}
	if rootReaches(s2) {
		t.Error("link 2 down: the root namespace still reaches node 2")
	}
	check("link 2 down", 1, s3, true)
	if err := nt.LinkUp(2); err != nil {
		t.Fatal(err)
	}
	check("link 2 up", 1, s2, true)
}

// TestCloseRemovesEverything: after Close no namespace or link of the
// net is left.
func TestCloseRemovesEverything(t *testing.T) {
	nt := newNet(t, 2)
	if err := nt.Cut(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := nt.Close(); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	links, _ := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	for _, n := range nt.Nodes {
		if strings.Contains(string(out), n.NS) {
			t.Errorf("namespace %s left after Close", n.NS)
		}
	}
	if strings.Contains(string(links), nt.Bridge) {
		t.Errorf("bridge %s left after Close", nt.Bridge)
	}
}
