package supervisor

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// SlogGroup is the group that every attribute of a record logged through
// SlogHandler is put under, so protoactor's attributes arrive as
// "protoactor.reason", "protoactor.message" and so on.
const SlogGroup = "protoactor"

// SlogHandler returns a slog.Handler that writes through l with
// zerolog.NewSlogHandler, for protoactor's own log output.
//
// zerolog v1.35.1 names the level, message and time fields from
// process-wide globals and offers no per-handler option, so rather than
// changing MessageFieldName for the whole process this handler keeps keys
// apart another way: every attribute (including those added with
// WithAttrs, and groups) goes under SlogGroup, so no protoactor attribute
// can overwrite ts, node, event, message or any other top-level field. The
// record's time is written as ts (RFC 3339 with nanoseconds, UTC) like the
// supervision log, instead of zerolog's "time". The message stays in
// zerolog's message field and the level in its level field.
//
// l should not carry a Timestamp(); level filtering is l's. The handler is
// safe for concurrent use if l's writer is (a Log's is).
func SlogHandler(l zerolog.Logger) slog.Handler {
	l = l.Hook(zerolog.HookFunc(stampTS))
	return slogHandler{inner: zerolog.NewSlogHandler(l).WithGroup(SlogGroup)}
}

// LoggerFactory returns a logger factory for actor.WithLoggerFactory that
// sends an actor system's logging through SlogHandler(l), with the system's
// id as the attribute "protoactor.system".
func LoggerFactory(l zerolog.Logger) func(*actor.ActorSystem) *slog.Logger {
	return func(system *actor.ActorSystem) *slog.Logger {
		return slog.New(SlogHandler(l)).With(slog.String("system", system.ID))
	}
}

// stampTS adds ts as the supervision log writes it. zerolog runs hooks when
// the event is sent, after the record's attributes.
func stampTS(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("ts", time.Now().UTC().Format(time.RFC3339Nano))
}

// slogHandler wraps zerolog's handler for two reasons. It drops the
// record's time, which zerolog would write under its global
// TimestampFieldName (stampTS writes ts instead). And it opens groups
// itself: zerolog v1.35.1 applies a group to attributes added before it
// (With("a", 1).WithGroup("g") gives "g.a"), where slog puts them outside.
// Here attributes are nested into the groups open when they were added, and
// zerolog only ever sees the SlogGroup prefix.
type slogHandler struct {
	inner  slog.Handler
	groups []string // open groups, outermost first
}

func (h slogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h slogHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(time.Time{}, r.Level, r.Message, r.PC)
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	out.AddAttrs(h.nest(attrs)...)
	return h.inner.Handle(ctx, out)
}

func (h slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return slogHandler{inner: h.inner.WithAttrs(h.nest(attrs)), groups: h.groups}
}

func (h slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return slogHandler{inner: h.inner, groups: append(h.groups[:len(h.groups):len(h.groups)], name)}
}

// nest puts attrs inside the open groups. A group left empty is dropped
// by zerolog, as slog requires.
func (h slogHandler) nest(attrs []slog.Attr) []slog.Attr {
	for i := len(h.groups) - 1; i >= 0; i-- {
		attrs = []slog.Attr{{Key: h.groups[i], Value: slog.GroupValue(attrs...)}}
	}
	return attrs
}
