package remote_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

// unreachableWithin is how soon a peer that cannot be reached must be
// logged, after the node starts or the peer goes away.
const unreachableWithin = 2 * time.Second

// awaitUnreachable waits for n's peer_unreachable line about peer, checks
// that it came within unreachableWithin of from and names the address, and
// returns its error.
func awaitUnreachable(t *testing.T, n *grpcNode, peer remote.NodeID, addr string, from time.Time) string {
	t.Helper()
	line := n.logs.awaitLine(t, "peer_unreachable of a peer", func(l map[string]any) bool {
		return l["event"] == "peer_unreachable" && l["peer"] == float64(peer)
	})
	if took := n.logs.when(line).Sub(from); took > unreachableWithin {
		t.Errorf("peer_unreachable came %v after the peer was lost, want within %v", took, unreachableWithin)
	}
	if line["level"] != "warn" || line["addr"] != addr {
		t.Errorf("line %v, want warn naming address %s", line, addr)
	}
	errText, _ := line["error"].(string)
	if st := peerStatus(t, n.tr, peer); st.LastError != errText || st.Address != addr || st.Up {
		t.Errorf("PeerStatus %+v, want address %s, down, LastError %q as logged", st, addr, errText)
	}
	return errText
}

func peerStatus(t *testing.T, tr *remote.GRPCTransport, peer remote.NodeID) remote.PeerStatus {
	t.Helper()
	for _, st := range tr.PeerStatus() {
		if st.Peer == peer {
			return st
		}
	}
	t.Fatalf("no PeerStatus for %d", peer)
	return remote.PeerStatus{}
}

// A peer that is not running (its port refuses) is logged with the error,
// soon after the start, and the peer_reachable line follows once it runs.
func TestGRPCLogsPeerNotRunning(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	c.lis[2].Close() // node 2 is not running
	started := time.Now()
	n1 := c.start(c.config(1))
	if got := awaitUnreachable(t, n1, 2, c.addrs[2], started); got != "connection refused" {
		t.Errorf("error %q, want connection refused", got)
	}

	c.listen(2)
	c.start(c.config(2))
	line := n1.logs.await(t, "peer_reachable", "")
	if line["peer"] != float64(2) || line["level"] != "info" || line["addr"] != c.addrs[2] {
		t.Errorf("line %v", line)
	}
}

// A peer that goes away is logged soon after, as a peer never reached is.
func TestGRPCLogsPeerThatWentAway(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1, n2 := c.start(c.config(1)), c.start(c.config(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n2.tr.Close()
	gone := time.Now()
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: false})
	if got := awaitUnreachable(t, n1, 2, c.addrs[2], gone); got != "connection refused" {
		t.Errorf("error %q, want connection refused", got)
	}
}

// A peer name that does not resolve is logged with the lookup's error.
func TestGRPCLogsUnresolvablePeer(t *testing.T) {
	c := newGRPCCluster(t, 1)
	cfg := c.config(1)
	// .invalid never resolves (RFC 6761); Insecure allows plaintext to a
	// name, which could be anywhere.
	cfg.Peers = map[remote.NodeID]string{2: "nosuchhost.invalid:7000"}
	cfg.Insecure = true
	started := time.Now()
	n1 := c.start(cfg)
	got := awaitUnreachable(t, n1, 2, "nosuchhost.invalid:7000", started)
	// Where no DNS server answers, the lookup outlasts the first report.
	if !strings.HasPrefix(got, "lookup nosuchhost.invalid: ") && got != "no answer yet" {
		t.Errorf("error %q, want the lookup's", got)
	}
	t.Logf("error: %s", got)
}

// A wrong address where something accepts connections but never answers
// (as a host that drops packets does, for the dialer's purposes) is logged
// while the attempt still hangs.
func TestGRPCLogsPeerThatNeverAnswers(t *testing.T) {
	c := newGRPCCluster(t, 1)
	silent, err := net.Listen("tcp", "127.0.0.1:0") // never accepts: the kernel completes connections, nobody speaks
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := c.config(1)
	cfg.Peers = map[remote.NodeID]string{2: silent.Addr().String()}
	started := time.Now()
	n1 := c.start(cfg)
	if got := awaitUnreachable(t, n1, 2, silent.Addr().String(), started); got != "no answer yet" {
		t.Errorf("error %q, want no answer yet", got)
	}
}

// The dialing side logs a peer's refusal of its handshake at most once a
// second, counting the lines it held back, however often it retries.
func TestGRPCDialerRateLimitsHandshakeRefused(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	c.start(c.config(1))
	cfg := c.config(2)
	cfg.Cluster = "another-cluster"
	cfg.ReconnectMin, cfg.ReconnectMax = time.Millisecond, time.Millisecond // retry as fast as it can
	n2 := c.start(cfg)

	isRefused := func(l map[string]any) bool { return l["event"] == "handshake_refused" }
	first := n2.logs.awaitLine(t, "a first handshake_refused", isRefused)
	if first["reason"] != "wrong_cluster" || first["level"] != "warn" || first["peer"] != float64(1) {
		t.Errorf("line %v", first)
	}
	var second map[string]any
	seen := 0
	n2.logs.awaitLine(t, "a second handshake_refused", func(l map[string]any) bool {
		if isRefused(l) {
			seen++
			second = l
		}
		return seen == 2
	})
	// The limiter's clock is read a moment before each line is written,
	// so the lines' write times may be a little less than a second apart.
	if gap := n2.logs.when(second).Sub(n2.logs.when(first)); gap < 900*time.Millisecond {
		t.Errorf("two handshake_refused lines %v apart, want about 1s", gap)
	}
	if s, _ := second["suppressed"].(float64); s == 0 {
		t.Errorf("second line %v held nothing back; the link retried %d times", second, n2.tr.Stats().Peers[1].ConnectFailures)
	}
}
