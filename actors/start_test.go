package actors_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
	"github.com/synod/synod/supervisor"
)

// loopbackCluster binds a listener on 127.0.0.1 for each of n nodes and
// returns their configs for actors.Start: the same cluster, every other
// node as a peer, each node's supervision log and other lines in its own
// buffer.
func loopbackCluster(t *testing.T, n int) ([]actors.Config, []*testcluster.SyncBuffer) {
	t.Helper()
	addrs := map[actors.NodeID]string{}
	lns := map[actors.NodeID]net.Listener{}
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[actors.NodeID(i)], lns[actors.NodeID(i)] = ln.Addr().String(), ln
	}
	var cfgs []actors.Config
	var logs []*testcluster.SyncBuffer
	for i := 1; i <= n; i++ {
		id := actors.NodeID(i)
		peers := map[actors.NodeID]string{}
		for o, a := range addrs {
			if o != id {
				peers[o] = a
			}
		}
		log := &testcluster.SyncBuffer{}
		cfg := actors.DefaultConfig()
		cfg.Cluster, cfg.Node, cfg.Address, cfg.Peers, cfg.Listener = "start", id, addrs[id], peers, lns[id]
		cfg.Logger = zerolog.New(log).Level(zerolog.InfoLevel)
		cfg.SupervisionLog = supervisor.NewLog(id.String(), log)
		cfg.Seed = uint64(40 + i)
		cfgs, logs = append(cfgs, cfg), append(logs, log)
	}
	return cfgs, logs
}

// awaitOneLeader waits until one of es leads and the others know it.
func awaitOneLeader(t *testing.T, es []*actors.Election) *actors.Election {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var leader *actors.Election
		for _, e := range es {
			if e.IsLeader() {
				leader = e
			}
		}
		if leader != nil {
			agreed := true
			for _, e := range es {
				if l, ok := e.Leader(); !ok || l.Leader != leader.Node() {
					agreed = false
				}
			}
			if agreed {
				return leader
			}
		}
		time.Sleep(5 * time.Millisecond) // a condition across nodes; no one channel to await
	}
	t.Fatal("no agreed leader within 20 s")
	return nil
}

// Start runs a node as a user would: its own actor system and gRPC
// transport, nothing else to build. Three of them elect a leader that
// confirms, and Close leaves no goroutine behind (the actor system and the
// transport end with it).
func TestStartRunsANodeOverGRPC(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfgs, logs := loopbackCluster(t, 3)
	var es []*actors.Election
	for _, cfg := range cfgs {
		e, err := actors.Start(cfg)
		if err != nil {
			t.Fatalf("Start node %d: %v", cfg.Node, err)
		}
		es = append(es, e)
		if _, ok := e.Transport().(*remote.GRPCTransport); !ok {
			t.Errorf("node %d runs on %T, want the gRPC transport Start made", cfg.Node, e.Transport())
		}
	}
	leader := awaitOneLeader(t, es)
	if _, err := leader.Confirm(context.Background()); err != nil {
		t.Errorf("Confirm on the leader: %v", err)
	}
	for i, e := range es {
		if e.Err() != nil {
			t.Errorf("node %d: Err %v while running", i+1, e.Err())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := e.Close(ctx); err != nil {
			t.Errorf("Close node %d: %v", i+1, err)
		}
		cancel()
		select {
		case <-e.Done():
		default:
			t.Errorf("node %d: Done not closed after Close", i+1)
		}
		if !errors.Is(e.Err(), actors.ErrClosed) {
			t.Errorf("node %d: Err %v after Close, want ErrClosed", i+1, e.Err())
		}
	}
	if !strings.Contains(logs[0].String(), `"node":1`) {
		t.Errorf("node 1's lines do not name it:\n%s", logs[0])
	}
}

// A second process with a node's id joins the cluster: the first one's
// transport is refused as superseded, and the first Election stops: Done
// closes, Err is ErrSuperseded, a waiting call fails with it, and the
// supervision log says why. (Restarting it would take the id back and cut
// the second one off; see docs/operations.md.)
func TestSecondProcessOfANodeStopsTheFirst(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfgs, logs := loopbackCluster(t, 3)
	var es []*actors.Election
	for _, cfg := range cfgs {
		e, err := actors.Start(cfg)
		if err != nil {
			t.Fatalf("Start node %d: %v", cfg.Node, err)
		}
		es = append(es, e)
	}
	defer func() {
		for _, e := range es {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = e.Close(ctx)
			cancel()
		}
	}()
	awaitOneLeader(t, es)
	first := es[1]
	awaiting := make(chan error, 1)
	go func() {
		_, err := first.Await(context.Background()) // a follower's, or a leader's that ends
		awaiting <- err
	}()

	second := cfgs[1]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	second.Listener, second.Address = ln, ln.Addr().String()
	second.SupervisionLog = supervisor.NewLog("2", &testcluster.SyncBuffer{})
	e2, err := actors.Start(second)
	if err != nil {
		t.Fatalf("Start a second node 2: %v", err)
	}
	es = append(es, e2)

	select {
	case <-first.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the first process of node 2 still runs 20 s after a second one joined")
	}
	if !errors.Is(first.Err(), actors.ErrSuperseded) {
		t.Errorf("Err %v, want ErrSuperseded", first.Err())
	}
	select {
	case err := <-awaiting:
		if !errors.Is(err, actors.ErrSuperseded) && !errors.Is(err, actors.ErrNotLeader) {
			t.Errorf("Await on the superseded node: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Await on the superseded node did not return")
	}
	if _, err := first.Confirm(context.Background()); !errors.Is(err, actors.ErrSuperseded) {
		t.Errorf("Confirm on the superseded node: %v, want ErrSuperseded", err)
	}
	if l, _ := first.Leader(); l.Reason != actors.Superseded {
		t.Errorf("Leader() reason %q, want %q", l.Reason, actors.Superseded)
	}
	if !strings.Contains(logs[1].String(), `"event":"node_superseded"`) {
		t.Errorf("node 2's supervision log does not say it was superseded:\n%s", logs[1])
	}
	if strings.Contains(logs[1].String(), `"event":"node_stopped"`) {
		t.Errorf("a superseded node is logged as stopped for no reason:\n%s", logs[1])
	}
}

// A Start that fails closes the listener it was given, and says what was
// wrong with the config in terms of its fields.
func TestStartFailureClosesTheListener(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfgs, _ := loopbackCluster(t, 3)
	cfg := cfgs[0]
	cfg.DataDir = t.TempDir()
	db, err := storage.Open(cfg.DataDir, storage.Owner{Cluster: "another", Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = actors.Start(cfg)
	if !errors.Is(err, storage.ErrWrongOwner) {
		t.Fatalf("Start on another cluster's data dir: %v, want ErrWrongOwner", err)
	}
	if _, err := cfg.Listener.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the listener after a failed Start: Accept says %v, want it closed", err)
	}
	for _, c := range cfgs[1:] {
		_ = c.Listener.Close()
	}

	bad := actors.DefaultConfig()
	bad.Cluster, bad.Node, bad.Address = "start", 1, "10.1.2.3:7000"
	bad.Peers = map[actors.NodeID]string{2: "10.1.2.4:7000"}
	_, err = actors.Start(bad)
	if err == nil || !strings.Contains(err.Error(), "TLS") || !strings.Contains(err.Error(), "Insecure") {
		t.Errorf("Start with plaintext off loopback: %v, want an error naming TLS and Insecure", err)
	}
	bad.Transport, bad.Insecure = remote.NewMemNetwork(1, remote.Faults{}).Join(1), true
	_, err = actors.Start(bad)
	if err == nil || !strings.Contains(err.Error(), "Transport") {
		t.Errorf("Start with a Transport and Insecure: %v, want an error saying they do not mix", err)
	}
}
