package inproc

import "sync"

// logTail is an io.Writer that keeps the last limit bytes written to it,
// so that a node's logs cost little memory in a long benchmark and are
// still there to explain a failure. Safe for concurrent use.
type logTail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func newLogTail(limit int) *logTail { return &logTail{limit: limit} }

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - l.limit; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	return len(p), nil
}

// String returns what the tail holds.
func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
