package remote

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// memTransport is one node's Transport on a MemNetwork. Frames for it wait
// in a bounded queue ordered by due time and are delivered by its own
// goroutine, never on the sender's.
type memTransport struct {
	net    *MemNetwork
	id     NodeID
	wake   chan struct{} // capacity 1: "the queue's head may have changed"
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when the delivery goroutine returns

	mu      sync.Mutex
	started bool
	closed  bool
	recv    func(NodeID, []byte)
	queue   pending

	peerEvents func(PeerEvent) // see NotifyPeers
	seq        uint64          // orders frames with equal due times by arrival
}

// Start attaches the transport to the network and starts delivering.
func (t *memTransport) Start(recv func(from NodeID, frame []byte)) error {
	if recv == nil {
		return errors.New("remote: memnet: recv must not be nil")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errors.New("remote: memnet: transport closed")
	case t.started:
		return errors.New("remote: memnet: transport already started")
	}
	if err := t.net.attach(t); err != nil {
		return err
	}
	t.started, t.recv = true, recv
	go t.deliver()
	return nil
}

// Send copies frame into the destination's queue. It returns false when the
// network, the sender or the destination is not live, or when the
// destination's queue is full; frames lost to faults or cut links return
// true.
func (t *memTransport) Send(to NodeID, frame []byte) bool {
	n := t.net
	n.sent.Add(1)
	dst, delays, ok := n.route(t, to)
	if !ok {
		n.dropped.Add(1)
		return false
	}
	if len(delays) == 0 {
		n.dropped.Add(1)
		return true
	}
	if len(delays) > 1 {
		n.duplicated.Add(uint64(len(delays) - 1))
	}
	queued := dst.enqueue(t.id, frame, delays)
	if lost := len(delays) - queued; lost > 0 {
		n.dropped.Add(uint64(lost))
	}
	return queued > 0
}

// Close detaches the transport, discards what waits in its queue, and
// waits for its delivery goroutine to return. It must not be called from
// recv. Idempotent.
func (t *memTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.net.dropped.Add(uint64(t.queue.Len()))
	t.queue = nil
	started := t.started
	t.mu.Unlock()
	// Detach only now: Start attaches under t.mu after checking closed, so
	// a Start racing with this Close has either attached already or will
	// not attach at all.
	t.net.detach(t)
	close(t.done)
	if started {
		<-t.exited
		t.net.announce(t.id, false)
	}
	return nil
}

// enqueue adds one copy of frame per delay, as long as the queue has room,
// and returns how many it added.
func (t *memTransport) enqueue(from NodeID, frame []byte, delays []time.Duration) int {
	now := time.Now()
	t.mu.Lock()
	queued := 0
	for _, d := range delays {
		if t.closed || t.queue.Len() >= MemQueueSize {
			break
		}
		t.seq++
		heap.Push(&t.queue, &inFlight{due: now.Add(d), seq: t.seq, from: from, frame: append([]byte(nil), frame...)})
		queued++
	}
	t.mu.Unlock()
	if queued > 0 {
		select {
		case t.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return queued
}

// deliver is the transport's goroutine: it hands every due frame to recv,
// then sleeps until the next is due, a new frame arrives, or Close.
func (t *memTransport) deliver() {
	defer close(t.exited)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		t.mu.Lock()
		now := time.Now()
		var due []*inFlight
		for t.queue.Len() > 0 && !t.queue[0].due.After(now) {
			due = append(due, heap.Pop(&t.queue).(*inFlight))
		}
		wait := time.Duration(-1)
		if len(due) == 0 && t.queue.Len() > 0 {
			wait = t.queue[0].due.Sub(now)
		}
		recv := t.recv
		t.mu.Unlock()

		for i, f := range due {
			select {
			case <-t.done:
				t.net.dropped.Add(uint64(len(due) - i))
				return
			default:
			}
			// Counted first, so that whatever a receiver observed is
			// already in Stats when it looks.
			t.net.delivered.Add(1)
			recv(f.from, f.frame)
		}
		if len(due) > 0 {
			continue // time passed while delivering; look again
		}

		if wait >= 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-t.done:
			return
		case <-t.wake:
		case <-timer.C:
		}
	}
}

// inFlight is one frame waiting in a queue.
type inFlight struct {
	due   time.Time
	seq   uint64
	from  NodeID
	frame []byte
}

// pending is a min-heap of frames by (due, seq), for container/heap.
type pending []*inFlight

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if !p[i].due.Equal(p[j].due) {
		return p[i].due.Before(p[j].due)
	}
	return p[i].seq < p[j].seq
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(*inFlight)) }
func (p *pending) Pop() any {
	old := *p
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*p = old[:len(old)-1]
	return x
}
