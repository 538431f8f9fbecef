package main

import "github.com/asynkron/protoactor-go/actor"

// job asks the counter to do one unit of work; the counter answers on
// reply once it is done.
type job struct{ reply chan<- int }

// count asks the counter how many jobs it has done.
type count struct{ reply chan<- int }

// counter stands for the application's own actor: it knows nothing of
// synod, and does whatever it is sent. The Lead callback decides when it
// may be sent work. Calls from ordinary goroutines carry their own reply
// channel rather than use protoactor futures, which are racy in the
// pinned protoactor-go (its issue #1145).
type counter struct{ done int }

func newCounter() actor.Actor { return &counter{} }

func (c *counter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *job:
		c.done++
		m.reply <- c.done
	case *count:
		m.reply <- c.done
	}
}
