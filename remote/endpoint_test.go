package remote_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/synod/synod/remote"
)

func TestEndpointRequestRespondAcrossNetwork(t *testing.T) {
	c := newCluster(t, 3)
	c.spawn(2, "echo", echo(2))
	c.spawn(3, "echo", echo(3))
	out := make(chan any, 16)
	c.spawn(1, "client", client(out))
	ep1 := c.nodes[1].ep
	clientPID := ep1.PID(1, "client")

	for i, to := range []remote.NodeID{2, 3} {
		c.nodes[1].system.Root.Send(clientPID, pingVia{to: ep1.PID(to, "echo"), seq: uint64(i)})
		awaitValue[sent](t, out, "ping sent")
		pong := awaitValue[*testPong](t, out, "pong")
		if pong.Seq != uint64(i) || pong.By != to {
			t.Fatalf("pong %+v, want seq %d from node %d", pong, i, to)
		}
	}

	s1 := ep1.Stats()
	if s1.FramesSent != 2 || s1.FramesReceived != 2 || s1.FramesDropped+s1.DecodeErrors+s1.Rejected != 0 {
		t.Errorf("node 1 stats %+v", s1)
	}
	if p := s1.Peers[2]; p.FramesSent != 1 || p.FramesReceived != 1 {
		t.Errorf("node 1 stats for peer 2: %+v", p)
	}
	// Node 2's FramesSent is bumped after its transport took the pong,
	// possibly after the pong arrived; only what node 1 counted before
	// delivering is certain here.
	if s2 := c.nodes[2].ep.Stats(); s2.FramesReceived != 1 {
		t.Errorf("node 2 stats %+v", s2)
	}

	// This node's own actors are local: no transport involved.
	if pid := ep1.PID(1, "client"); pid.Address != addressOf(1) {
		t.Errorf("local PID address %q, want %q", pid.Address, addressOf(1))
	}
	if got := c.nodes[1].system.Address(); got != addressOf(1) {
		t.Errorf("actor system address %q, want %q", got, addressOf(1))
	}
}

// A raw transport stands in for node 3 (a configured peer) and node 9 (a
// stranger) and sends node 1 frames it must refuse.
func TestEndpointRejectsForeignFrames(t *testing.T) {
	c := newCluster(t, 3, 1, 2)
	c.spawn(1, "echo", echo(1))
	peer3, in3 := memNode(t, c.net, 3)
	stranger, _ := memNode(t, c.net, 9)

	frame := func(f remote.Frame, msg any) []byte {
		if msg != nil {
			id, payload, err := remote.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			f.Type, f.Payload = id, payload
		}
		b, err := remote.EncodeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ping := &testPing{Seq: 1}
	good := remote.Frame{Cluster: clusterName, From: 3, Target: "echo"}
	with := func(edit func(*remote.Frame)) remote.Frame { f := good; edit(&f); return f }

	stranger.Send(1, frame(with(func(f *remote.Frame) { f.From = 9 }), ping))
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.Cluster = "other-cluster" }), ping))
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.From = 7 }), ping))
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.From = 2 }), ping))
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.Target = "" }), ping))
	peer3.Send(1, []byte("not msgpack at all \xc1"))
	peer3.Send(1, make([]byte, remote.DefaultMaxFrameSize+1))
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.Type, f.Payload = 9999, []byte{0xc0} }), nil))
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.Type, f.Payload = 200, []byte{0x92, 0xc1, 0xc1} }), nil))
	// Last, a good request with a sender: node 1 delivers frames in order,
	// so its reply proves every frame above was handled.
	peer3.Send(1, frame(with(func(f *remote.Frame) { f.Sender = "probe" }), ping))

	reply := await(t, in3, "reply to the good frame")
	f, err := remote.DecodeFrame(reply.frame, 0)
	if err != nil {
		t.Fatal(err)
	}
	if reply.from != 1 || f.From != 1 || f.Cluster != clusterName || f.Target != "probe" || f.Sender != "" {
		t.Fatalf("reply frame %+v from %d", f, reply.from)
	}
	msg, err := remote.Unmarshal(f.Type, f.Payload)
	if pong, ok := msg.(*testPong); err != nil || !ok || pong.Seq != 1 || pong.By != 1 {
		t.Fatalf("reply payload %#v, %v", msg, err)
	}

	s := c.nodes[1].ep.Stats()
	if s.Rejected != 5 || s.DecodeErrors != 4 || s.FramesReceived != 1 {
		t.Errorf("node 1 stats %+v, want 5 rejected, 4 decode errors, 1 received", s)
	}
	if p := s.Peers[3]; p.Rejected != 4 || p.DecodeErrors != 4 || p.FramesReceived != 1 {
		t.Errorf("node 1 stats for peer 3: %+v", p)
	}
	// Logged at most once a second per reason: the second unknown_node is
	// counted above but not logged.
	wantReasons := []string{"from_mismatch", "no_target", "unknown_node", "wrong_cluster"}
	if got := reasons(c.logs.events(t, "frame_rejected")); !slices.Equal(got, wantReasons) {
		t.Errorf("frame_rejected reasons %v, want %v", got, wantReasons)
	}
	if got := reasons(c.logs.events(t, "decode_failed")); !slices.Equal(got, []string{"malformed_frame", "malformed_payload", "oversize", "unknown_type"}) {
		t.Errorf("decode_failed reasons %v", got)
	}
}

func TestEndpointLossIsSilentAndHealed(t *testing.T) {
	c := newCluster(t, 3)
	c.spawn(2, "echo", echo(2))
	out := make(chan any, 16)
	c.spawn(1, "client", client(out))
	ep1 := c.nodes[1].ep
	root := c.nodes[1].system.Root
	ping := func(seq uint64) {
		root.Send(ep1.PID(1, "client"), pingVia{to: ep1.PID(2, "echo"), seq: seq})
		awaitValue[sent](t, out, "ping sent")
	}

	// Each ping below is lost to a different fault. The last one gets
	// through; links are FIFO and the echo answers in order, so a pong to
	// any lost ping would have arrived before it.
	c.net.Isolate(2)
	ping(1)
	c.net.Heal()
	c.net.Partition([]remote.NodeID{1, 3}, []remote.NodeID{2})
	ping(2)
	c.net.Heal()
	c.net.SetFaults(remote.Faults{Drop: 1})
	ping(3)
	c.net.SetFaults(remote.Faults{})
	ping(4)
	if pong := awaitValue[*testPong](t, out, "pong"); pong.Seq != 4 {
		t.Fatalf("got pong %d, want only pong 4", pong.Seq)
	}

	// The endpoint handed all four to the transport: loss on the network
	// is invisible to the sender, as on a real one.
	if s := ep1.Stats(); s.FramesSent != 4 || s.FramesDropped != 0 {
		t.Errorf("node 1 stats %+v, want 4 sent, 0 dropped", s)
	}
	if s := c.net.Stats(); s.Sent != 5 || s.Dropped != 3 {
		t.Errorf("network stats %+v, want 5 sent, 3 dropped", s)
	}
}

func TestEndpointDuplicates(t *testing.T) {
	c := newCluster(t, 2)
	c.spawn(2, "echo", echo(2))
	out := make(chan any, 16)
	c.spawn(1, "client", client(out))
	ep1 := c.nodes[1].ep

	// The ping is doubled, and so is each of the two pongs.
	c.net.SetFaults(remote.Faults{Duplicate: 1})
	c.nodes[1].system.Root.Send(ep1.PID(1, "client"), pingVia{to: ep1.PID(2, "echo"), seq: 5})
	awaitValue[sent](t, out, "ping sent")
	for range 4 {
		if pong := awaitValue[*testPong](t, out, "pong"); pong.Seq != 5 {
			t.Fatalf("pong %d, want 5", pong.Seq)
		}
	}
	if s := c.net.Stats(); s.Sent != 3 || s.Duplicated != 3 || s.Dropped != 0 {
		t.Errorf("network stats %+v, want 3 sent, 3 duplicated, none dropped", s)
	}
}

func TestEndpointDropsWhatCannotBeSent(t *testing.T) {
	c := newCluster(t, 2)
	out := make(chan any, 16)
	c.spawn(1, "client", client(out))
	n1 := c.nodes[1]
	remoteEcho := n1.ep.PID(2, "echo")
	send := func(msg any) {
		n1.system.Root.Send(n1.ep.PID(1, "client"), sendVia{to: remoteEcho, msg: msg})
		awaitValue[sent](t, out, "send")
	}

	send(&notRegistered{X: 1})                                             // cannot be encoded
	send(&testPing{Body: strings.Repeat("x", remote.DefaultMaxFrameSize)}) // oversize
	n1.system.Root.Poison(remoteEcho)                                      // protoactor's own message
	n1.system.Root.Stop(remoteEcho)                                        // a system message
	if err := n1.ep.Close(); err != nil {
		t.Fatal(err)
	}
	send(&testPing{Seq: 1})                                // endpoint closed
	n1.system.Root.Send(n1.ep.PID(7, "echo"), &testPing{}) // not a peer: dead letters, not the endpoint

	s := n1.ep.Stats()
	if s.FramesDropped != 5 || s.EncodeErrors != 1 || s.FramesSent != 0 {
		t.Errorf("stats %+v, want 5 dropped of which 1 encode error, 0 sent", s)
	}
	if p := s.Peers[2]; p.FramesDropped != 5 || p.EncodeErrors != 1 {
		t.Errorf("stats for peer 2: %+v", p)
	}
	if ev := c.logs.events(t, "encode_failed"); len(ev) != 1 || ev[0]["go_type"] != "*remote_test.notRegistered" {
		t.Errorf("encode_failed events %v", ev)
	}
	// Routine drops log at debug level and oversize at warn; this logger
	// keeps both.
	want := []string{"endpoint_closed", "oversize", "protoactor_message", "stop"}
	if got := reasons(c.logs.events(t, "send_dropped")); !slices.Equal(got, want) {
		t.Errorf("send_dropped reasons %v, want %v", got, want)
	}
	if c.net.Stats().Sent != 0 {
		t.Errorf("the network saw %d frames, want none", c.net.Stats().Sent)
	}
}

func TestNewEndpointValidatesConfig(t *testing.T) {
	n := remote.NewMemNetwork(1, remote.Faults{})
	defer n.Close()
	good := func() remote.EndpointConfig {
		return remote.EndpointConfig{
			Cluster: "c", Self: 1, Address: "a:1",
			Peers:     map[remote.NodeID]string{2: "b:1", 3: "c:1"},
			Transport: n.Join(1),
			Logger:    zerolog.Nop(),
		}
	}
	cases := map[string]func(*remote.EndpointConfig){
		"Cluster":      func(c *remote.EndpointConfig) { c.Cluster = "" },
		"Self":         func(c *remote.EndpointConfig) { c.Self = 0 },
		"Address":      func(c *remote.EndpointConfig) { c.Address = "nonhost" },
		"Transport":    func(c *remote.EndpointConfig) { c.Transport = nil },
		"MaxFrameSize": func(c *remote.EndpointConfig) { c.MaxFrameSize = -1 },
		"Peers":        func(c *remote.EndpointConfig) { c.Peers[3] = "b:1" },
	}
	for field, edit := range cases {
		cfg := good()
		edit(&cfg)
		_, err := remote.NewEndpoint(newSystem(), cfg)
		if !errors.Is(err, remote.ErrInvalidConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: err = %v, want ErrInvalidConfig naming %s", field, err, field)
		}
	}
	for name, peers := range map[string]map[remote.NodeID]string{
		"self in peers": {1: "b:1"},
		"node 0":        {0: "b:1"},
		"own address":   {2: "a:1"},
		"empty address": {2: ""},
	} {
		cfg := good()
		cfg.Peers = peers
		if err := cfg.Validate(); !errors.Is(err, remote.ErrInvalidConfig) || !strings.Contains(err.Error(), "Peers") {
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming Peers", name, err)
		}
	}

	system := newSystem()
	system.ProcessRegistry.Address = "embedder-remote:8090"
	if _, err := remote.NewEndpoint(system, good()); !errors.Is(err, remote.ErrInvalidConfig) {
		t.Errorf("re-addressing a system that has an address: err = %v, want ErrInvalidConfig", err)
	}
}
