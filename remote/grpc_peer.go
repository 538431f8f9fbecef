package remote

import (
	"fmt"
	"net"
	"time"
)

// A pair of nodes shares two streams: each node dials the other and sends
// on its own outbound stream (see grpc_link.go), and receives on the
// stream the other dialled (grpc_server.go). A peer is up while both are
// established with the same incarnation of it. Down is reported as soon as
// either breaks, because a break is what a peer's exit, crash or reset
// looks like from here, and the leader-watch wants that hint at once. Up is
// reported once both are back, because only then can the two nodes talk in
// both directions. Events are reported on transitions only, so a peer
// whose process exits (breaking both streams) is reported down once.
//
// Each stream belongs to one incarnation of the peer (see Incarnation),
// the one its handshake named. The state admits one at a time: a stream of
// a newer incarnation stops every stream of the older ones at once, even
// those that look healthy (a half-open connection of a dead process would
// otherwise hold the peer's place until keepalive noticed, 15 s), and a
// stream of an older incarnation is refused.

// linkState is what the transport knows of its streams with one peer.
// Guarded by GRPCTransport.stateMu.
type linkState struct {
	inc     Incarnation             // the newest incarnation of the peer admitted
	incFrom string                  // where inc was seen, for the refusal of older ones
	out     *streamRef              // our established stream to the peer; nil while none
	in      map[*streamRef]struct{} // the peer's established streams to us
	up      bool                    // as last reported
	since   time.Time               // when up last changed
	lastErr string                  // the last failure to reach the peer; cleared when it is up
	reach   reachReport             // peer_unreachable's state; see grpc_reach.go
}

// streamRef is one established stream in the link state. Its owner (the
// link's pump, or an inbound handler) watches stop and ends the stream
// when it closes.
type streamRef struct {
	inc     Incarnation
	inbound bool
	stop    chan struct{} // closed by stopLocked
	why     string        // why stop was closed (stopReplaced, stopSuperseded); set before
	detail  string        // for stopReplaced: what replaced it, for the peer; set before
}

func newStreamRef(inc Incarnation, inbound bool) *streamRef {
	return &streamRef{inc: inc, inbound: inbound, stop: make(chan struct{})}
}

// Why a stream was stopped, as stored in streamRef.why; they become the
// reason of peer_down.
const (
	// stopReplaced: a newer incarnation of the peer was admitted.
	stopReplaced = "peer_replaced"
	// stopSuperseded: this node learnt that it was superseded.
	stopSuperseded = "superseded"
)

func (r *streamRef) stopLocked(why, detail string) {
	select {
	case <-r.stop:
	default:
		r.why, r.detail = why, detail
		close(r.stop)
	}
}

// stopped reports whether the stream was stopped; safe without stateMu.
func (r *streamRef) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// addStream admits an established stream of the peer's incarnation
// ref.inc into l's state, seen from from: a newer incarnation than any
// before stops the streams of the older ones; an older one is refused with
// a handshakeError of reason rejectSuperseded. It returns errSelfSuperseded
// once this node was superseded. A peer that dialled us while our stream
// to it is down is worth dialling now, so the link is kicked.
func (t *GRPCTransport) addStream(l *grpcLink, ref *streamRef, from string) error {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	if t.superseded.Load() {
		return errSelfSuperseded
	}
	s := &l.state
	if ref.inc.Before(s.inc) {
		return &handshakeError{rejectSuperseded, fmt.Sprintf("incarnation %v of node %d is older than incarnation %v, which connected from %s",
			ref.inc, l.id, s.inc, s.incFrom)}
	}
	if s.inc.Before(ref.inc) {
		if !s.inc.IsZero() && !t.closing.Load() {
			t.log.Info().Str("event", "peer_replaced").Uint64("peer", uint64(l.id)).
				Str("old", s.inc.String()).Str("new", ref.inc.String()).Str("from", from).Send()
		}
		replaced := func(old *streamRef) string {
			return fmt.Sprintf("incarnation %v of node %d was replaced by incarnation %v, which connected from %s",
				old.inc, l.id, ref.inc, from)
		}
		if s.out != nil && s.out.inc.Before(ref.inc) {
			s.out.stopLocked(stopReplaced, replaced(s.out))
			s.out = nil
			t.lostOutboundLocked(l)
			l.kick()
		}
		for r := range s.in {
			if r.inc.Before(ref.inc) {
				r.stopLocked(stopReplaced, replaced(r))
				delete(s.in, r)
			}
		}
		s.inc, s.incFrom = ref.inc, from
	}
	if ref.inbound {
		if s.in == nil {
			s.in = make(map[*streamRef]struct{})
		}
		s.in[ref] = struct{}{}
		if s.out == nil {
			l.kick()
		}
	} else {
		s.out = ref
		t.reachableLocked(l)
	}
	t.refreshLocked(l, stopReplaced)
	return nil
}

// dropStream removes an ended stream from l's state; reason is why it
// ended, for peer_down. Dropping a stream twice, or one that addStream
// already stopped, is harmless.
func (t *GRPCTransport) dropStream(l *grpcLink, ref *streamRef, reason string) {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	s := &l.state
	if ref.inbound {
		delete(s.in, ref)
	} else if s.out == ref {
		s.out = nil
		t.lostOutboundLocked(l)
	}
	t.refreshLocked(l, reason)
}

// refreshLocked reports a change of up. It runs on links and inbound
// handlers, which Close waits for, so no event follows Close. Holding
// stateMu while calling notify keeps events in order; nothing else takes
// stateMu, so notify may call Send or Stats.
func (t *GRPCTransport) refreshLocked(l *grpcLink, reason string) {
	s := &l.state
	up := s.out != nil && len(s.in) > 0
	if up == s.up {
		return
	}
	s.up = up
	s.since = time.Now()
	if up {
		s.lastErr = ""
	}
	l.up.Store(up)
	if t.closing.Load() {
		return
	}
	if up {
		t.log.Info().Str("event", "peer_up").Uint64("peer", uint64(l.id)).Str("incarnation", s.inc.String()).Send()
	} else {
		t.log.Info().Str("event", "peer_down").Uint64("peer", uint64(l.id)).Str("reason", reason).Send()
	}
	if t.notify != nil {
		t.notify(PeerEvent{Peer: l.id, Up: up})
	}
}

// PeerStatus implements PeerStatusReporter.
func (t *GRPCTransport) PeerStatus() []PeerStatus {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	out := make([]PeerStatus, 0, len(t.links))
	for id, l := range t.links {
		since := l.state.since
		if since.IsZero() {
			since = t.created
		}
		out = append(out, PeerStatus{Peer: id, Address: l.addr, Up: l.state.up, LastError: l.state.lastErr, Since: since})
	}
	return out
}

// NotifyPeers implements PeerNotifier. fn is called with PeerEvents from
// the transport's goroutines, one at a time and in the order the changes
// happened, until Close returns. fn must not block and must not call
// Close. It must be called before Start; later calls are ignored.
func (t *GRPCTransport) NotifyPeers(fn func(PeerEvent)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.closed {
		t.log.Warn().Str("event", "notify_peers_ignored").Str("reason", "after_start").Send()
		return
	}
	t.notify = fn
}

func addrString(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	return a.String()
}
