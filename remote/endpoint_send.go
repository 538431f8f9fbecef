package remote

import (
	"fmt"
	"reflect"

	"github.com/asynkron/protoactor-go/actor"
)

// protoactorPkg is the package path of protoactor's own message types.
var protoactorPkg = reflect.TypeOf(actor.PID{}).PkgPath()

// peer is the protoactor Process behind every PID addressed to one peer
// node. PIDs cache it, so it lives as long as the Endpoint and checks
// whether the Endpoint was closed on every send. Its methods run on the
// sending actor's goroutine, concurrently for many senders; they never
// block and never panic.
type peer struct {
	endpoint *Endpoint
	id       NodeID
	address  string
	counters counters
}

var _ actor.Process = (*peer)(nil)

// SendUserMessage encodes message for the actor pid.Id on this peer and
// hands it to the transport, or drops and counts it.
func (p *peer) SendUserMessage(pid *actor.PID, message any) {
	e := p.endpoint
	_, msg, sender := actor.UnwrapEnvelope(message)
	if e.closed.Load() {
		p.dropped("endpoint_closed", msg)
		return
	}
	if t := reflect.TypeOf(msg); t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == protoactorPkg {
		// protoactor's own replies and controls: the DeadLetterResponse it
		// sends a remote requester of a missing actor, a PoisonPill. They
		// mean nothing to a synod peer; dropping them is expected, not an
		// error.
		p.dropped("protoactor_message", msg)
		return
	}

	f := Frame{Cluster: e.cluster, From: e.self, Target: pid.Id}
	if sender != nil {
		if sender.Address == localAddress || sender.Address == e.address {
			f.Sender = sender.Id
		} else {
			// A frame names its sender by actor id on the sending node, so
			// a reply cannot be routed to a third node. The message still
			// goes; only ctx.Respond at the receiver will dead-letter.
			e.log.Debug().Str("event", "sender_not_local").Uint64("peer", uint64(p.id)).
				Str("sender", sender.String()).Send()
		}
	}

	id, payload, err := Marshal(msg)
	if err != nil {
		bump(&e.total.encodeErrors, &p.counters.encodeErrors)
		e.log.Warn().Str("event", "encode_failed").Uint64("peer", uint64(p.id)).
			Str("go_type", fmt.Sprintf("%T", msg)).Str("target", pid.Id).Err(err).Send()
		bump(&e.total.dropped, &p.counters.dropped)
		return
	}
	f.Type, f.Payload = id, payload
	b, err := EncodeFrame(f)
	if err != nil {
		bump(&e.total.encodeErrors, &p.counters.encodeErrors)
		e.log.Warn().Str("event", "encode_failed").Uint64("peer", uint64(p.id)).
			Uint16("type", uint16(id)).Str("target", pid.Id).Err(err).Send()
		bump(&e.total.dropped, &p.counters.dropped)
		return
	}
	if len(b) > e.maxSize {
		// The peer would reject it; better to say so here, once, loudly.
		e.log.Warn().Str("event", "send_dropped").Str("reason", "oversize").Uint64("peer", uint64(p.id)).
			Uint16("type", uint16(id)).Int("size", len(b)).Int("limit", e.maxSize).Send()
		bump(&e.total.dropped, &p.counters.dropped)
		return
	}
	if !e.trans.Send(p.id, b) {
		p.dropped("transport_refused", msg)
		return
	}
	bump(&e.total.sent, &p.counters.sent)
}

// SendSystemMessage drops message: protoactor system messages (Watch,
// Unwatch, Stop, …) do not cross the network in synod.
func (p *peer) SendSystemMessage(pid *actor.PID, message any) {
	p.dropped("system_message", message)
}

// Stop drops the request: a node cannot stop another node's actors.
func (p *peer) Stop(pid *actor.PID) {
	p.dropped("stop", nil)
}

// dropped counts an outgoing message that did not reach the transport and
// logs it at debug level: these drops are routine (a closed endpoint, a
// full queue, a watch on a remote actor) and would flood a warn log.
func (p *peer) dropped(reason string, msg any) {
	e := p.endpoint
	bump(&e.total.dropped, &p.counters.dropped)
	ev := e.log.Debug()
	if ev == nil {
		return
	}
	ev = ev.Str("event", "send_dropped").Str("reason", reason).Uint64("peer", uint64(p.id))
	if msg != nil {
		ev = ev.Str("go_type", fmt.Sprintf("%T", msg))
	}
	ev.Send()
}
