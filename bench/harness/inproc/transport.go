package inproc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/bench/harness/result"
	"github.com/synod/synod/remote"
)

// transportPlan is the shape of the transport scenario.
type transportPlan struct {
	warmup, window time.Duration // per metric
	// inFlight bounds the frames in flight in the throughput run: Send
	// drops rather than blocks when a peer's queue is full, so the sender
	// keeps below the queue instead of measuring drops.
	inFlight int
}

func transportPlanFor(quick bool) transportPlan {
	if quick {
		return transportPlan{warmup: 200 * time.Millisecond, window: 1500 * time.Millisecond, inFlight: 512}
	}
	return transportPlan{warmup: 500 * time.Millisecond, window: 5 * time.Second, inFlight: 512}
}

// Transport measures two remote.GRPCTransport endpoints in this process,
// on 127.0.0.1, in plaintext ("insecure") and with mutual TLS ("TLS"):
// one-way throughput of heartbeat frames, as a leader sends them, with
// the receiver counting them ("…, throughput", msgs/s), and the round
// trip of one frame echoed back, one outstanding at a time ("…, round
// trip", µs). It measures the transport alone: frames are encoded once
// and not decoded, as the actor endpoint around it would.
func Transport(ctx context.Context, o Options) ([]result.Row, error) {
	return transport(ctx, o, transportPlanFor(o.Quick))
}

func transport(ctx context.Context, o Options, p transportPlan) (rows []result.Row, err error) {
	frame, err := heartbeatFrame()
	if err != nil {
		return nil, err
	}
	for _, secure := range []bool{false, true} {
		name := "insecure"
		if secure {
			name = "TLS"
		}
		pr, err := startPair(ctx, secure, p.inFlight)
		if err != nil {
			return rows, err
		}
		tput, err := pr.throughput(ctx, frame, p)
		if err == nil {
			tput.Case = name + ", throughput"
			rows = append(rows, tput)
			o.progress(len(rows), 4)
			var rtt result.Row
			if rtt, err = pr.roundTrip(ctx, frame, p); err == nil {
				rtt.Case = name + ", round trip"
				rows = append(rows, rtt)
				o.progress(len(rows), 4)
			}
		}
		pr.close()
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// heartbeatFrame is the frame a leader's watch actor sends each follower
// every heartbeat interval.
func heartbeatFrame() ([]byte, error) {
	typ, payload, err := remote.Marshal(&acceptor.Heartbeat{Term: 1234, Leader: 1, Incarnation: 0x9e3779b97f4a7c15, Seq: 100_000})
	if err != nil {
		return nil, fmt.Errorf("inproc: heartbeat: %w", err)
	}
	f, err := remote.EncodeFrame(remote.Frame{Type: typ, Cluster: benchCluster, From: 1,
		Target: "synod/leader-watch", Sender: "synod/leader-watch", Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("inproc: heartbeat frame: %w", err)
	}
	return f, nil
}

// pair is two connected transports, node 1 (the sender) and node 2.
type pair struct {
	a, b *remote.GRPCTransport

	echo     atomic.Bool   // b sends every frame back to a
	received atomic.Int64  // frames b received
	credits  chan struct{} // throughput: one token per frame a may have in flight
	pong     chan struct{} // round trip: a heard the echo
}

// startPair starts both transports and waits until each sees the other
// up. inFlight sizes the throughput window.
func startPair(ctx context.Context, secure bool, inFlight int) (_ *pair, err error) {
	var tlsA, tlsB *tls.Config
	if secure {
		ca, err := newThrowawayCA()
		if err != nil {
			return nil, err
		}
		if tlsA, err = ca.mutualTLS(1); err != nil {
			return nil, err
		}
		if tlsB, err = ca.mutualTLS(2); err != nil {
			return nil, err
		}
	}
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("inproc: listen: %w", err)
	}
	lnB, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = lnA.Close()
		return nil, fmt.Errorf("inproc: listen: %w", err)
	}
	addrA, addrB := lnA.Addr().String(), lnB.Addr().String()
	p := &pair{pong: make(chan struct{}, 1), credits: make(chan struct{}, inFlight)}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if p.a, err = remote.NewGRPCTransport(remote.GRPCConfig{Self: 1, Cluster: benchCluster, Listener: lnA,
		Peers: map[remote.NodeID]string{2: addrB}, TLS: tlsA}); err != nil {
		_, _ = lnA.Close(), lnB.Close()
		return nil, fmt.Errorf("inproc: transport 1: %w", err)
	}
	if p.b, err = remote.NewGRPCTransport(remote.GRPCConfig{Self: 2, Cluster: benchCluster, Listener: lnB,
		Peers: map[remote.NodeID]string{1: addrA}, TLS: tlsB}); err != nil {
		_ = lnB.Close()
		return nil, fmt.Errorf("inproc: transport 2: %w", err)
	}
	up := make(chan struct{}, 2)
	for _, t := range []*remote.GRPCTransport{p.a, p.b} {
		t.NotifyPeers(func(ev remote.PeerEvent) {
			if ev.Up {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		})
	}
	if err = p.a.Start(p.recvA); err != nil {
		return nil, fmt.Errorf("inproc: start transport 1: %w", err)
	}
	if err = p.b.Start(p.recvB); err != nil {
		return nil, fmt.Errorf("inproc: start transport 2: %w", err)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for range 2 {
		select {
		case <-up:
		case <-wait.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errors.New("inproc: the two transports did not connect within 10s")
		}
	}
	return p, nil
}

// recvA is node 1's receiver: only echoes arrive.
func (p *pair) recvA(_ remote.NodeID, _ []byte) {
	select {
	case p.pong <- struct{}{}:
	default:
	}
}

// recvB is node 2's receiver: it counts, and returns the sender's credit
// or echoes the frame.
func (p *pair) recvB(_ remote.NodeID, frame []byte) {
	p.received.Add(1)
	if p.echo.Load() {
		p.b.Send(1, frame) // Send copies the frame, which recv may not keep
		return
	}
	select {
	case p.credits <- struct{}{}:
	default:
	}
}

func (p *pair) close() {
	for _, t := range []*remote.GRPCTransport{p.a, p.b} {
		if t != nil {
			_ = t.Close()
		}
	}
}

// throughput sends frame from a to b as fast as b takes them, never more
// than plan.inFlight unanswered, and counts what b received in the window.
func (p *pair) throughput(ctx context.Context, frame []byte, plan transportPlan) (result.Row, error) {
	for range cap(p.credits) {
		p.credits <- struct{}{}
	}
	stop := make(chan struct{})
	var dropped atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-p.credits:
			case <-stop:
				return
			}
			if !p.a.Send(2, frame) {
				dropped.Add(1)
				p.credits <- struct{}{}
			}
		}
	})
	live := sleep(ctx, plan.warmup)
	got0, start := p.received.Load(), time.Now()
	live = live && sleep(ctx, plan.window)
	got, elapsed := p.received.Load()-got0, time.Since(start)
	close(stop)
	wg.Wait()
	if !live {
		return result.Row{}, ctx.Err()
	}
	// Let the frames in flight land, so the round trip starts on a quiet
	// connection.
	drained := time.Now().Add(2 * time.Second)
	for len(p.credits) < cap(p.credits) && time.Now().Before(drained) && sleep(ctx, time.Millisecond) {
	}
	row := result.Row{Scenario: "transport", System: result.Synod, N: int(got),
		Value: float64(got) / elapsed.Seconds(), RateUnit: "msgs/s",
		Extra: map[string]float64{"frame_bytes": float64(len(frame)), "in_flight": float64(plan.inFlight),
			"dropped": float64(dropped.Load()), "window_s": elapsed.Seconds()},
		Note: fmt.Sprintf("one sender, heartbeat frames of %d bytes, at most %d in flight", len(frame), plan.inFlight),
	}
	return row, nil
}

// roundTrip sends frame from a to b, which echoes it, one at a time, and
// times each.
func (p *pair) roundTrip(ctx context.Context, frame []byte, plan transportPlan) (result.Row, error) {
	p.echo.Store(true)
	defer p.echo.Store(false)
	var samples []float64
	lost := 0
	warm := time.Now().Add(plan.warmup)
	var end time.Time
	timeout := time.NewTimer(time.Second)
	defer timeout.Stop()
	for ctx.Err() == nil {
		now := time.Now()
		if end.IsZero() && now.After(warm) {
			end = now.Add(plan.window)
		}
		if !end.IsZero() && now.After(end) {
			break
		}
		if !p.a.Send(2, frame) {
			lost++
			continue
		}
		timeout.Reset(time.Second)
		select {
		case <-p.pong:
			if !end.IsZero() {
				samples = append(samples, micros(time.Since(now)))
			}
		case <-timeout.C:
			lost++ // a stale echo, if it comes, is taken as the next one's
		case <-ctx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		return result.Row{}, err
	}
	row := distribution("transport", "", "µs", samples)
	row.Extra = map[string]float64{"frame_bytes": float64(len(frame)), "lost": float64(lost)}
	row.Note = "one frame outstanding; a sample is Send on node 1 to node 1's receiver hearing node 2's echo"
	if lost > 0 {
		row.Note += fmt.Sprintf("; %d round trips LOST (dropped or over 1 s)", lost)
	}
	return row, nil
}
