package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"time"
)

// MaxLineBytes bounds one line of the supervision log for ReadLog; longer
// lines end the read with an error.
const MaxLineBytes = 1 << 20

// ErrBadLine is wrapped by every error ParseLine returns.
var ErrBadLine = errors.New("supervisor: bad supervision log line")

// Entry is one parsed line of the supervision log. A field absent from the
// line is left at its zero value. Window and Backoff are read from
// milliseconds (see Log), exactly to the nanosecond up to 2^53 ns (about
// 104 days) and to float64 precision beyond.
type Entry struct {
	TS        time.Time
	Node      string
	Event     string
	Actor     string
	Reason    string
	Directive string
	Restarts  int
	Window    time.Duration
	Backoff   time.Duration
	Term      uint64
	Leader    string
}

// ParseLine parses one line of the supervision log. It accepts any JSON
// object, matches field names exactly (encoding/json alone would also take
// "Actor" or "ACTOR"), ignores fields it does not know (protoactor's own
// lines, fields added later), and returns an error wrapping ErrBadLine for
// anything else: a line that is not one JSON object, a known field of the
// wrong type, a ts that is not RFC 3339, or a duration out of range. It
// never panics, and is safe for concurrent use.
func ParseLine(line []byte) (Entry, error) {
	line = bytes.TrimSpace(line)
	// json.Unmarshal accepts null for a map and leaves it empty; a line of
	// the log is always an object.
	if len(line) == 0 || line[0] != '{' {
		return Entry{}, fmt.Errorf("%w: not a JSON object", ErrBadLine)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrBadLine, err)
	}
	var e Entry
	var ts string
	var window, backoff json.Number
	for key, dst := range map[string]any{
		"ts": &ts, "node": &e.Node, "event": &e.Event, "actor": &e.Actor,
		"reason": &e.Reason, "directive": &e.Directive, "restarts": &e.Restarts,
		"window": &window, "backoff": &backoff, "term": &e.Term, "leader": &e.Leader,
	} {
		raw, ok := fields[key]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return Entry{}, fmt.Errorf("%w: %s: %w", ErrBadLine, key, err)
		}
	}
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: ts: %w", ErrBadLine, err)
		}
		e.TS = t
	}
	var err error
	if e.Window, err = parseMillis(window); err != nil {
		return Entry{}, fmt.Errorf("%w: window: %w", ErrBadLine, err)
	}
	if e.Backoff, err = parseMillis(backoff); err != nil {
		return Entry{}, fmt.Errorf("%w: backoff: %w", ErrBadLine, err)
	}
	return e, nil
}

// parseMillis converts a JSON number of milliseconds to a Duration,
// rounding to the nanosecond. Converting an out-of-range float to an
// integer is implementation-defined in Go, so the range is checked first.
func parseMillis(n json.Number) (time.Duration, error) {
	if n == "" {
		return 0, nil
	}
	ms, err := n.Float64()
	if err != nil {
		return 0, err
	}
	ns := math.Round(ms * float64(time.Millisecond))
	// float64(math.MaxInt64) rounds up to 2^63, which is out of range.
	if !(ns > math.MinInt64 && ns < math.MaxInt64) {
		return 0, fmt.Errorf("%s ms is out of range", n)
	}
	return time.Duration(ns), nil
}

// ReadLog yields the entries of a supervision log, one per non-blank line,
// in order. A line that does not parse yields its error (naming the line
// number) and reading goes on; a read error, or a line longer than
// MaxLineBytes, yields the error and ends the sequence. Stop early by
// breaking out of the loop. The sequence reads r as it goes, so it can be
// ranged over only once.
func ReadLog(r io.Reader) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64*1024), MaxLineBytes)
		for n := 1; sc.Scan(); n++ {
			line := sc.Bytes()
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			e, err := ParseLine(line)
			if err != nil {
				err = fmt.Errorf("line %d: %w", n, err)
			}
			if !yield(e, err) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("supervisor: read supervision log: %w", err))
		}
	}
}
