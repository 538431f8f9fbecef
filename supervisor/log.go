package supervisor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// The events of the supervision log, the value of its "event" field.
const (
	EventActorFailed     = "actor_failed"
	EventActorRestarted  = "actor_restarted"
	EventActorStopped    = "actor_stopped"
	EventEscalated       = "escalated"
	EventWorkerExited    = "worker_exited"
	EventWorkerRestarted = "worker_restarted"
	EventLeaderElected   = "leader_elected"
	EventLeaderLost      = "leader_lost"
	EventLeaseExpired    = "lease_expired"
	EventTransferred     = "transferred"
	EventNodeSuperseded  = "node_superseded"
)

// Events lists every event the supervision log records (the constants
// above), for tools that filter it, such as synod logs --event.
var Events = []string{
	EventActorFailed, EventActorRestarted, EventActorStopped, EventEscalated,
	EventWorkerExited, EventWorkerRestarted, EventLeaderElected, EventLeaderLost,
	EventLeaseExpired, EventTransferred, EventNodeSuperseded,
}

// LogFileName is the supervision log's file name inside a node's data
// directory.
const LogFileName = "supervision.log"

// Log writes the supervision log: one JSON object per line, with the stable
// field names ts, node, event, actor, reason, directive, restarts, window,
// backoff, term and leader. Each line carries ts, node and event, and only
// the other fields relevant to its event.
//
//   - ts is the time of writing in UTC, formatted as RFC 3339 with
//     nanoseconds (time.RFC3339Nano).
//   - window and backoff are milliseconds as JSON numbers, fractional when
//     the duration is not a whole millisecond (so 1.5 is 1500 µs).
//   - restarts and term are integers.
//
// Log depends on no zerolog global (field names, time or duration format),
// so changing those elsewhere in the process leaves this format alone.
//
// All methods are safe for concurrent use; each line reaches each writer
// in a single Write call, and lines never interleave. Methods on a nil *Log
// do nothing.
type Log struct {
	node string
	zl   zerolog.Logger
	now  func() time.Time
}

// NewLog returns a Log for node that writes every line to each of w (for
// example os.Stderr and the file from OpenFileLog). A failing writer does
// not keep the line from the others; write errors go to zerolog's
// ErrorHandler (by default a note on stderr). With no writers, lines are
// discarded.
func NewLog(node string, w ...io.Writer) *Log {
	var outs []io.Writer
	for _, x := range w {
		if x != nil {
			outs = append(outs, x)
		}
	}
	var out io.Writer
	switch len(outs) {
	case 0:
		out = io.Discard
	case 1:
		out = outs[0]
	default:
		out = zerolog.MultiLevelWriter(outs...)
	}
	// SyncWriter makes writers such as bytes.Buffer safe to share, and
	// keeps the slog bridge (Logger) from interleaving with our lines.
	return &Log{node: node, zl: zerolog.New(zerolog.SyncWriter(out)), now: time.Now}
}

// OpenFileLog opens <dataDir>/supervision.log for appending (creating it
// with mode 0600; an existing file keeps its mode) and returns a Log for
// node that writes to it and, if also is not nil, to also. The caller
// closes the returned Closer after the last line has been written.
func OpenFileLog(dataDir, node string, also io.Writer) (*Log, io.Closer, error) {
	path := filepath.Join(dataDir, LogFileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("supervisor: open supervision log %s: %w", path, err)
	}
	return NewLog(node, f, also), f, nil
}

// ForNode returns a Log that writes to the same writers under another node
// name, for processes that run several nodes (tests, the demo).
func (l *Log) ForNode(node string) *Log {
	if l == nil {
		return nil
	}
	c := *l
	c.node = node
	return &c
}

// Logger returns a zerolog.Logger that writes to the same writers, with the
// node field set, for components that log more than supervision events
// (see LoggerFactory). A nil Log gives a disabled logger.
func (l *Log) Logger() zerolog.Logger {
	if l == nil {
		return zerolog.Nop()
	}
	return l.zl.With().Str("node", l.node).Logger()
}

// begin starts a line with the fields every line carries; it returns nil
// (on which zerolog's methods do nothing) for a nil Log.
func (l *Log) begin(event string) *zerolog.Event {
	if l == nil {
		return nil
	}
	return l.zl.Log().
		Str("ts", l.now().UTC().Format(time.RFC3339Nano)).
		Str("node", l.node).
		Str("event", event)
}

// millis is the documented duration encoding: milliseconds as a JSON
// number, without an exponent. It is formatted here rather than by zerolog's
// Float64, whose precision is a process-wide global.
func millis(d time.Duration) []byte {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

// reasonText renders a failure reason (a panic value or error). fmt
// recovers from a panicking Error or String method, which a direct call
// would not.
func reasonText(reason any) string {
	if s, ok := reason.(string); ok {
		return s
	}
	return fmt.Sprint(reason)
}
