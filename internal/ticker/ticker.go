// Package ticker drives an actor's logical clock with its own messages.
// protoactor's SetReceiveTimeout is racy under -race in the pinned version
// and fires only once, so role actors use this instead.
//
// Every Ticker of one actor system and interval shares one goroutine and
// one time.Ticker (a hub), so the role actors of a node tick together: an
// idle node wakes once per interval for all of them instead of once per
// actor, and each wake-up of an idle process costs far more than the few
// mailbox posts it makes.
package ticker

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Tick is the message a Ticker sends. It never crosses the network.
type Tick struct{}

// tick is the one Tick every hub sends: it carries nothing.
var tick = &Tick{}

// Ticker sends Tick to one actor at a fixed interval until stopped.
type Ticker struct {
	hub *hub
	pid *actor.PID
}

// hubKey names a hub: the tickers of one actor system and interval.
type hubKey struct {
	system   *actor.ActorSystem
	interval time.Duration
}

// hub sends Tick to each of its tickers' actors every interval.
type hub struct {
	key  hubKey
	subs map[*Ticker]struct{} // guarded by mu
	stop chan struct{}        // closed, under mu, when the last ticker stops
	done chan struct{}        // closed when the goroutine returns
}

var (
	// mu guards hubs and every hub's subs, and is held while a hub sends,
	// so that once Stop returns its actor gets no further Tick.
	mu   sync.Mutex
	hubs = map[hubKey]*hub{}
)

// Start sends &Tick{} to pid every interval until Stop. The first Tick
// comes within one interval: the ticker joins its hub's schedule. The actor
// must call Stop when it stops or restarts, or the hub keeps ticking it.
func Start(system *actor.ActorSystem, pid *actor.PID, interval time.Duration) *Ticker {
	key := hubKey{system: system, interval: interval}
	mu.Lock()
	defer mu.Unlock()
	h := hubs[key]
	if h == nil {
		h = &hub{key: key, subs: map[*Ticker]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
		hubs[key] = h
		go h.run()
	}
	t := &Ticker{hub: h, pid: pid}
	h.subs[t] = struct{}{}
	return t
}

// Stop ends the ticker: once it returns, its actor gets no further Tick
// from it. The last ticker of a hub also waits for the hub's goroutine. It
// is safe on nil and idempotent.
func (t *Ticker) Stop() {
	if t == nil {
		return
	}
	h := t.hub
	mu.Lock()
	_, live := h.subs[t]
	delete(h.subs, t)
	last := live && len(h.subs) == 0
	if last {
		delete(hubs, h.key)
		close(h.stop)
	}
	mu.Unlock()
	if last {
		<-h.done
	}
}

func (h *hub) run() {
	defer close(h.done)
	tk := time.NewTicker(h.key.interval)
	defer tk.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tk.C:
		}
		mu.Lock()
		select {
		case <-h.stop:
			mu.Unlock()
			return
		default:
		}
		// Root.Send to a local actor only posts to its mailbox: it never
		// blocks, so holding mu here delays Start and Stop by microseconds.
		for t := range h.subs {
			h.key.system.Root.Send(t.pid, tick)
		}
		mu.Unlock()
	}
}
