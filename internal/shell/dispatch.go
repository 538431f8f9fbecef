package shell

import "sync"

// Dispatcher runs one actor's mailbox on a goroutine of its own that lives
// until Stop, in place of protoactor's default dispatcher, which starts a
// fresh goroutine for every burst of messages. A fresh goroutine starts on
// a small stack and, on the deep call path of a shell (mailbox, shell,
// core, codec, transport), grows it by copying several times per burst:
// on a one-caller quorum confirmation that copying took about a quarter
// of the CPU. A goroutine that stays keeps its grown stack.
//
// It is safe for concurrent use. protoactor schedules a mailbox only when
// it turns from idle to running, so at most one run is pending at a time.
type Dispatcher struct {
	runs chan func()
	done chan struct{}
	stop sync.Once
}

// dispatchThroughput is how many messages a run takes before it yields
// (protoactor's default).
const dispatchThroughput = 300

// NewDispatcher starts the dispatcher's goroutine.
func NewDispatcher() *Dispatcher {
	d := &Dispatcher{runs: make(chan func(), 1), done: make(chan struct{})}
	go d.loop()
	return d
}

func (d *Dispatcher) loop() {
	for {
		select {
		case fn := <-d.runs:
			fn()
		case <-d.done:
			return
		}
	}
}

// Schedule runs fn on the dispatcher's goroutine; after Stop, on a
// goroutine of its own, as protoactor's default does.
func (d *Dispatcher) Schedule(fn func()) {
	select {
	case <-d.done:
		go fn()
		return
	default:
	}
	select {
	case d.runs <- fn:
	case <-d.done:
		go fn()
	}
}

// Throughput is protoactor's default.
func (d *Dispatcher) Throughput() int { return dispatchThroughput }

// Stop ends the goroutine once the run in progress, if any, returns. Call
// it once the actor has stopped; later runs get goroutines of their own.
// Idempotent.
func (d *Dispatcher) Stop() { d.stop.Do(func() { close(d.done) }) }
