package watch_test

import (
	"fmt"
	"testing"

	"github.com/synod/synod/acceptor"
)

// BenchmarkConfirmCoalescer drives the confirmation coalescer of a
// leader with leases off: callers arrive while a round is in flight, the
// round's majority answers, and the next round carries everyone who
// waited. One op is one caller confirmed; it asserts nothing about speed,
// but fails if a round answers the wrong number of callers.
func BenchmarkConfirmCoalescer(b *testing.B) {
	for _, perRound := range []int{1, 8, 64, 512} {
		b.Run(fmt.Sprintf("callers-%d", perRound), func(b *testing.B) {
			c := leading(b, start, leasesOff)
			now := start + ms(20)
			var id uint64
			// The first round, with one caller, so that every timed round
			// finds a round in flight and coalesces behind it.
			id++
			c.Confirm(now, id)
			round, _ := sent[*acceptor.ConfirmRequest](c.Ready())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += perRound {
				for range perRound {
					id++
					c.Confirm(now, id)
				}
				// The round in flight finishes; the next one starts with
				// the callers that waited.
				reply(c, now, round[0].ID, 5, 1, 2)
				rd := c.Ready()
				if got := len(rd.Confirms); i > 0 && got != perRound {
					b.Fatalf("a round answered %d callers, want %d", got, perRound)
				}
				round, _ = sent[*acceptor.ConfirmRequest](rd)
				if len(round) == 0 {
					b.Fatal("no next round started")
				}
			}
		})
	}
}
