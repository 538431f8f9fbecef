package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/remote/remotetest"
)

// scrapeNode GETs a node's /metrics; an error means it did not answer.
func scrapeNode(client *http.Client, admin string) (map[string]*dto.MetricFamily, error) {
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// rejected returns a node's synod_transport_rejected_total by
// "stage/reason".
func rejected(client *http.Client, admin string) (map[string]float64, error) {
	mfs, err := scrapeNode(client, admin)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, m := range mfs["synod_transport_rejected_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		out[labels["stage"]+"/"+labels["reason"]] = m.GetCounter().GetValue()
	}
	return out, nil
}

// TestProcessBadInput sends one node of a running three-node cluster every
// kind of bad input: bytes that are not HTTP/2, handshakes of another
// cluster or an unknown node, and, on a stream with a good handshake,
// garbage, truncated, oversize and wrong-cluster frames. Each must be
// counted in /metrics under its stage and reason and logged with the
// peer's address; the node's worker must be the same process throughout,
// and the cluster must still have a leader that confirms.
func TestProcessBadInput(t *testing.T) {
	c := newRunCluster(t, 3)
	c.awaitLeader(0, 0)
	target := c.node(1)
	pid := c.workerPID(target)
	addr := argAfter(target.args, "--listen")
	r := rand.New(rand.NewPCG(6, 6)) // fixed: any garbage will do, the same each run
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] = 0xc1 // never valid msgpack, nor the HTTP/2 preface
		return b
	}

	before, err := rejected(c.client, target.admin)
	if err != nil {
		t.Fatal(err)
	}
	// send delivers one kind of bad input, then waits until the node has
	// counted it under key.
	send := func(key string, do func()) {
		t.Helper()
		do()
		c.await(key+" counted", procDeadline, func() bool {
			now, err := rejected(c.client, target.admin)
			return err == nil && now[key] == before[key]+1
		})
		before[key]++
	}

	// 1. Not HTTP/2: the connection is refused and logged with its address.
	var garbageFrom string
	send("connection/not_http2", func() {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		garbageFrom = conn.LocalAddr().String()
		if _, err := conn.Write(garbage(64)); err != nil {
			t.Fatal(err)
		}
	})
	c.await("connection_rejected logged with the remote address", procDeadline, func() bool {
		return strings.Contains(target.output(), `"event":"connection_rejected"`) &&
			strings.Contains(target.output(), `"remote":"`+garbageFrom+`"`)
	})

	// 2. Handshakes the node must refuse before reading a frame.
	send("handshake/wrong_cluster", func() { _ = remotetest.RawStream(t, addr, "other", 2).RecvMsg(new([]byte)) })
	send("handshake/unknown_node", func() { _ = remotetest.RawStream(t, addr, "pt", 9).RecvMsg(new([]byte)) })

	// 3. A good handshake, then bad frames. The stream claims node 3
	// (plaintext trusts the claim) with a fresh incarnation, as a restarted
	// node 3 would: node 3 is stopped first, since a claim of a running
	// member's id takes that process's place at node 1 (and a claim with no
	// incarnation is refused as superseded by it).
	third := c.node(3)
	c.signal(third, syscall.SIGTERM)
	if err := c.awaitExit(third, procDeadline); err != nil {
		t.Fatalf("node 3 did not stop cleanly: %v", err)
	}
	typ, payload, err := remote.Marshal(&acceptor.Heartbeat{Term: 1, Leader: 2, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(cluster string) []byte {
		b, err := remote.EncodeFrame(remote.Frame{Type: typ, Cluster: cluster, From: 3, Target: "synod/acceptor", Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	s := remotetest.RawStreamAs(t, addr, "pt", 3, remote.NewIncarnation())
	sendMsg := func(b []byte) func() {
		return func() {
			if err := s.SendMsg(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("frame/malformed_frame", sendMsg(garbage(100)))
	send("frame/malformed_frame", sendMsg(frame("pt")[:len(frame("pt"))-3])) // truncated
	send("frame/wrong_cluster", sendMsg(frame("other")))
	// Oversize: gRPC refuses it (and resets this stream) before the
	// transport reads it.
	send("frame/oversize", sendMsg(make([]byte, remote.DefaultMaxFrameSize+1)))

	for _, event := range []string{`"event":"handshake_rejected"`, `"event":"decode_failed"`, `"event":"frame_rejected"`, `"event":"frame_refused"`} {
		if !strings.Contains(target.output(), event) {
			t.Errorf("node 1 never logged %s", event)
		}
	}
	if now := c.workerPID(target); now != pid {
		t.Fatalf("node 1's worker is pid %d, was %d: it restarted", now, pid)
	}
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
	if t.Failed() {
		return
	}
	after, _ := rejected(c.client, target.admin)
	t.Logf("node 1 counted: %v", fmt.Sprint(after))
}
