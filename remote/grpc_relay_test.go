package remote_test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// relay forwards every TCP connection made to its address to a target,
// which the test may change. freeze makes the connections it relays so far
// go silent, both ways, without closing: their ends see neither data nor
// FIN nor RST, as with a connection whose far machine died. That is a
// half-open connection, which only keepalive (15 s here) would notice.
// Connections made after a freeze are relayed as usual.
type relay struct {
	t      *testing.T
	lis    net.Listener
	mu     sync.Mutex
	target string
	pairs  []*relayPair
	closed bool
	wg     sync.WaitGroup
}

type relayPair struct {
	a, b   net.Conn
	frozen atomic.Bool
}

// newRelay starts a relay to target on a loopback port; the test's cleanup
// closes it.
func newRelay(t *testing.T, target string) *relay {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{t: t, lis: lis, target: target}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *relay) addr() string { return r.lis.Addr().String() }

func (r *relay) retarget(target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = target
}

func (r *relay) freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pairs {
		p.frozen.Store(true)
	}
}

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		a, err := r.lis.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		target := r.target
		r.mu.Unlock()
		b, err := net.Dial("tcp", target)
		if err != nil {
			a.Close()
			continue
		}
		p := &relayPair{a: a, b: b}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			a.Close()
			b.Close()
			continue
		}
		r.pairs = append(r.pairs, p)
		r.mu.Unlock()
		r.wg.Add(2)
		go p.pipe(&r.wg, a, b)
		go p.pipe(&r.wg, b, a)
	}
}

// pipe copies from src to dst until src ends, then closes both, unless the
// pair is frozen: then it swallows what src sends and closes nothing.
func (p *relayPair) pipe(wg *sync.WaitGroup, src, dst net.Conn) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil && !p.frozen.Load() {
				break
			}
		}
		if err != nil { // an end, a reset or a close: all end the copy
			break
		}
	}
	if !p.frozen.Load() {
		p.a.Close()
		p.b.Close()
	}
}

// close ends every connection, frozen or not, and waits for the relay's
// goroutines.
func (r *relay) close() {
	r.lis.Close()
	r.mu.Lock()
	r.closed = true
	for _, p := range r.pairs {
		p.a.Close()
		p.b.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
