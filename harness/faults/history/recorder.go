package history

import (
	"fmt"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Outcome is how a recorded call ended.
type Outcome string

// Outcomes of a call. Only OK and Unknown calls enter the check: a Failed
// call had no effect, and a Pending one (never ended) counts as Unknown.
const (
	OK      Outcome = "ok"      // returned; its output is known
	Unknown Outcome = "unknown" // may or may not have taken effect
	Failed  Outcome = "failed"  // definitely had no effect
	Pending Outcome = "pending" // invoked, not yet ended
)

// Record is one call as recorded. Call and Return are nanoseconds on the
// recorder's monotonic clock; Return is 0 unless the outcome is OK or
// Failed.
type Record struct {
	Client  int     `json:"client"`
	Input   Input   `json:"input"`
	Output  Output  `json:"output"`
	Call    int64   `json:"call_ns"`
	Return  int64   `json:"return_ns,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Note is free text shown in the visualization (the node that
	// served the call, its term).
	Note string `json:"note,omitempty"`
}

// Recorder collects the calls of concurrent clients, stamped on one
// monotonic clock. All methods, and those of the Calls it returns, are
// safe for concurrent use.
type Recorder struct {
	start time.Time
	mu    sync.Mutex
	recs  []Record // guarded by mu
}

// NewRecorder returns an empty recorder whose clock starts now.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// now reads the monotonic clock: time.Since uses the monotonic reading
// that time.Now carries, so wall-clock steps do not reorder calls.
func (r *Recorder) now() int64 { return int64(time.Since(r.start)) }

// Call is one invocation in flight. End it exactly once, with Return,
// Unknown or Fail; later ends are ignored.
type Call struct {
	r *Recorder
	i int
}

// Invoke records that client calls in now. Client ids should be small and
// start at 0: the visualization draws one row per client, and a client
// should have at most one call in flight.
func (r *Recorder) Invoke(client int, in Input) *Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The time is read under the lock so that calls are stamped in the
	// order they are appended, and no return is stamped before its call.
	r.recs = append(r.recs, Record{Client: client, Input: in, Call: r.now(), Outcome: Pending})
	return &Call{r: r, i: len(r.recs) - 1}
}

// Return records a known outcome: out is what the call returned.
func (c *Call) Return(out Output) { c.end(OK, out) }

// Unknown records that the client never learned the outcome (a timeout
// after the request may have reached the store). A put then may take
// effect at any time after its call; a get is left out of the check.
func (c *Call) Unknown() { c.end(Unknown, Output{Unknown: true}) }

// Fail records that the call definitely had no effect (refused before it
// reached the store, or by the store's fence). It is left out of the
// check.
func (c *Call) Fail() { c.end(Failed, Output{}) }

// Note attaches text to the call for the saved history and the
// visualization.
func (c *Call) Note(format string, args ...any) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.r.recs[c.i].Note = fmt.Sprintf(format, args...)
}

func (c *Call) end(o Outcome, out Output) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	rec := &c.r.recs[c.i]
	if rec.Outcome != Pending {
		return
	}
	rec.Outcome, rec.Output = o, out
	if o != Unknown {
		rec.Return = c.r.now()
	}
}

// Records returns a copy of every call recorded so far, in call order.
func (r *Recorder) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.recs...)
}

// Counts returns how many calls ended with each outcome so far.
func (r *Recorder) Counts() map[Outcome]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[Outcome]int{}
	for _, rec := range r.recs {
		n[rec.Outcome]++
	}
	return n
}

// Operations turns records into porcupine operations. Failed calls and
// gets without a known outcome are left out. A put without a known
// outcome (Unknown or Pending) gets a return time after every other event,
// so porcupine may place it anywhere after its call.
func Operations(recs []Record) []porcupine.Operation {
	var last int64
	for _, rec := range recs {
		last = max(last, rec.Call, rec.Return)
	}
	ops := make([]porcupine.Operation, 0, len(recs))
	for _, rec := range recs {
		op := porcupine.Operation{ClientId: rec.Client, Input: rec.Input, Output: rec.Output, Call: rec.Call, Return: rec.Return}
		if rec.Note != "" {
			op.Metadata = rec.Note
		}
		switch {
		case rec.Outcome == OK:
		case rec.Outcome == Failed, rec.Input.Kind == Get:
			continue
		default: // a put that may have taken effect
			op.Output, op.Return = Output{Unknown: true}, last+1
		}
		ops = append(ops, op)
	}
	return ops
}
