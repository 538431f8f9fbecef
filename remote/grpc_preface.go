package remote

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// http2Preface is what every HTTP/2 client sends first (RFC 9113, §3.4).
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// errNotHTTP2 ends a connection whose first bytes are not the HTTP/2
// client preface.
var errNotHTTP2 = errors.New("remote: grpc: connection does not speak HTTP/2")

// checkPreface reads the first bytes a client sent on conn (after TLS, if
// any) and refuses the connection unless they are the HTTP/2 client
// preface, counting and logging it as {StageConnection, "not_http2"}. gRPC
// would refuse such a connection anyway, but silently; this makes garbage
// on the node's port visible. A client that sends nothing before it closes
// or the deadline passes (a port probe) is refused without a count.
//
// On success it returns a conn that replays the preface to gRPC.
func (t *GRPCTransport) checkPreface(conn net.Conn) (net.Conn, error) {
	want := []byte(http2Preface)
	got := make([]byte, len(want))
	n, err := io.ReadFull(conn, got)
	got = got[:n]
	if err == nil && bytes.Equal(got, want) {
		return &replayConn{Conn: conn, head: got}, nil
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no bytes before %v", errNotHTTP2, err)
	}
	detail := fmt.Sprintf("first %d bytes %.24q", n, got)
	if err != nil {
		detail += fmt.Sprintf(", then %v", err)
	}
	t.rejectConnection(conn.RemoteAddr(), rejectNotHTTP2, detail)
	return nil, fmt.Errorf("%w: %s", errNotHTTP2, detail)
}

// rejectConnection counts and logs, rate-limited, a connection refused
// before any handshake.
func (t *GRPCTransport) rejectConnection(remote net.Addr, reason, detail string) {
	if t.closing.Load() {
		return
	}
	t.rejections.add(StageConnection, reason)
	ok, suppressed := t.logLimit.allow(logKey{kind: Rejection{StageConnection, reason}}, time.Now())
	if !ok {
		return
	}
	ev := t.log.Warn().Str("event", "connection_rejected").Str("stage", StageConnection).Str("reason", reason).
		Str("detail", detail).Uint64("suppressed", suppressed)
	if remote != nil {
		ev = ev.Str("remote", remote.String())
	}
	ev.Send()
}

// replayConn returns head from Read before it reads on from Conn.
type replayConn struct {
	net.Conn
	head []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
