package remote

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Incarnation names one run of a node's process. Leases and promises are
// keyed by node id, so two processes that answer for one id at once (a
// restart whose old process is not quite dead, or a second process started
// with an existing id) would break the election's safety. Every handshake
// carries the sender's incarnation, and each node admits one incarnation of
// each peer at a time: a newer one replaces an older one at once, and an
// older one is refused for good (see GRPCTransport).
//
// Incarnations are ordered by Start, then by Nonce. Start is a wall-clock
// time, so a process started after the clock was stepped back by more than
// its predecessor's age is taken for the older one and refused; a node that
// must survive that can derive Start from a counter it keeps on disk and
// pass it in GRPCConfig.Incarnation.
//
// The zero Incarnation is what a peer of an older build presents (its
// handshake has none): it is older than any other.
type Incarnation struct {
	// Start is when the process started, in Unix nanoseconds; positive.
	Start int64
	// Nonce breaks a tie between processes that started in the same
	// nanosecond; random.
	Nonce uint32
}

// NewIncarnation returns an incarnation for a process starting now. Each
// call in a process returns a later Start than the one before, even on a
// clock too coarse to tell them apart, so that a transport restarted in the
// same process is never taken for an older one. Safe to call concurrently.
func NewIncarnation() Incarnation {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	for {
		last := lastStart.Load()
		start := max(time.Now().UnixNano(), last+1)
		if lastStart.CompareAndSwap(last, start) {
			return Incarnation{Start: start, Nonce: binary.BigEndian.Uint32(b[:])}
		}
	}
}

// lastStart is the Start NewIncarnation last returned in this process.
var lastStart atomic.Int64

// IsZero reports whether i is the zero Incarnation.
func (i Incarnation) IsZero() bool { return i == Incarnation{} }

// Before reports whether i is older than o.
func (i Incarnation) Before(o Incarnation) bool {
	return i.Start < o.Start || (i.Start == o.Start && i.Nonce < o.Nonce)
}

// String returns the start time and the nonce, for logs:
// 2026-01-02T15:04:05.123456789Z/3f2a0c11; "none" for the zero one.
func (i Incarnation) String() string {
	if i.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%s/%08x", time.Unix(0, i.Start).UTC().Format(time.RFC3339Nano), i.Nonce)
}

// wire encodes i as the handshake carries it: "<start>.<nonce>", both in
// canonical decimal.
func (i Incarnation) wire() string {
	return strconv.FormatInt(i.Start, 10) + "." + strconv.FormatUint(uint64(i.Nonce), 10)
}

// parseIncarnation accepts exactly what wire produces for a positive
// Start: no sign, no leading zeros, no spaces.
func parseIncarnation(s string) (Incarnation, bool) {
	start, nonce, ok := strings.Cut(s, ".")
	if !ok {
		return Incarnation{}, false
	}
	st, err := strconv.ParseInt(start, 10, 64)
	if err != nil || st <= 0 || strconv.FormatInt(st, 10) != start {
		return Incarnation{}, false
	}
	n, err := strconv.ParseUint(nonce, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != nonce {
		return Incarnation{}, false
	}
	return Incarnation{Start: st, Nonce: uint32(n)}, true
}
