// Package ticker drives an actor's logical clock with its own messages.
// protoactor's SetReceiveTimeout is racy under -race in the pinned version
// and fires only once, so role actors use this instead.
package ticker

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Tick is the message a Ticker sends. It never crosses the network.
type Tick struct{}

// Ticker sends Tick to one actor at a fixed interval until stopped.
type Ticker struct {
	stop chan struct{}
	done chan struct{}
}

// Start sends &Tick{} to pid every interval from a goroutine of its own.
// The actor must call Stop when it stops or restarts, or the goroutine
// leaks.
func Start(system *actor.ActorSystem, pid *actor.PID, interval time.Duration) *Ticker {
	t := &Ticker{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tk.C:
				system.Root.Send(pid, &Tick{})
			}
		}
	}()
	return t
}

// Stop ends the ticker and waits for its goroutine. It is safe on nil and
// idempotent.
func (t *Ticker) Stop() {
	if t == nil {
		return
	}
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	<-t.done
}
