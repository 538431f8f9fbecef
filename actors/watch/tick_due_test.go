package watch_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// TestTickDue runs twin cores through the same seeded random inputs on a
// 1 ms grid: one ticked at every grid point, as a shell with a fixed tick
// would, the other only once TickDue has come. Every Ready must be the
// same: a Tick before TickDue never does anything.
func TestTickDue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []func(*watch.Config)
	}{
		{"leases", []func(*watch.Config){withBackoff(150 * time.Millisecond)}},
		{"no leases", []func(*watch.Config){leasesOff, withBackoff(150 * time.Millisecond)}},
		// A heartbeat interval that does not divide the election timeout,
		// so that the timeouts counted from a heartbeat fall between beats.
		{"odd heartbeat", []func(*watch.Config){withHeartbeat(70 * time.Millisecond)}},
		{"odd heartbeat, no leases", []func(*watch.Config){leasesOff, withHeartbeat(70 * time.Millisecond)}},
	} {
		for seed := uint64(1); seed <= 100; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				twinRun(t, seed, tc.edits)
			})
		}
	}
}

func withHeartbeat(d time.Duration) func(*watch.Config) {
	return func(c *watch.Config) { c.HeartbeatInterval = d }
}

func twinRun(t *testing.T, seed uint64, edits []func(*watch.Config)) {
	const grid = time.Millisecond
	every := newCore(t, config(1, edits...), seed, start, 4, leaderOf(2))
	lazy := newCore(t, config(1, edits...), seed, start, 4, leaderOf(2))
	rng := rand.New(rand.NewPCG(seed, 7))
	both := func(f func(c *watch.Core)) { f(every); f(lazy) }

	var (
		term      uint64              = 4
		lastBeat  *acceptor.Heartbeat // the newest heartbeat node 1 sent
		campaign  *watch.Campaign     // waiting for its CampaignDone
		confirmID uint64
		silent    bool // node 2 stopped heartbeating
		deaf      bool // no peer acks node 1's heartbeats
		seq       uint64
	)
	for now := start; now < start+ms(20000); now += grid {
		// Inputs, the same to both.
		switch x := rng.IntN(1000); {
		case x < 20: // node 2's heartbeat, for the term it leads
			if !silent {
				seq++
				hb := &acceptor.Heartbeat{Term: term, Leader: 2, Incarnation: incarnationOf(2), Seq: seq}
				both(func(c *watch.Core) { c.Step(now, hb) })
			}
		case x < 60: // a peer grants node 1's newest heartbeat
			if lastBeat != nil && !deaf {
				a := &acceptor.HeartbeatAck{Term: lastBeat.Term, Seq: lastBeat.Seq, From: remote.NodeID(2 + rng.IntN(2)), Granted: true, MaxAccepted: lastBeat.Term}
				both(func(c *watch.Core) { c.Step(now, a) })
			}
		case x < 80: // the campaign ends
			if campaign != nil {
				o := proposer.Outcome{Instance: campaign.Instance, Value: campaign.Value}
				if rng.IntN(3) == 0 {
					o = proposer.Outcome{Instance: campaign.Instance, Err: errors.New("lost")}
				}
				campaign = nil
				both(func(c *watch.Core) { c.CampaignDone(now, o) })
				if o.Err == nil {
					term = o.Instance
				}
			}
		case x < 81: // another node wins a later term
			term++
			l := leaderOf(remote.NodeID(2 + rng.IntN(2)))
			both(func(c *watch.Core) { c.Decided(now, term, l.Encode()) })
			silent = false
		case x < 82:
			both(func(c *watch.Core) { c.PeerDown(now, 2) })
		case x < 84:
			silent = !silent
		case x < 86:
			confirmID++
			id := confirmID
			both(func(c *watch.Core) { c.Confirm(now, id) })
		case x < 90:
			r := &acceptor.ConfirmReply{ID: uint64(rng.IntN(5)), From: remote.NodeID(2 + rng.IntN(2)), MaxAccepted: term}
			both(func(c *watch.Core) { c.Step(now, r) })
		case x < 91:
			target := remote.NodeID(rng.IntN(4))
			both(func(c *watch.Core) { c.Resign(now, target) })
		case x < 92:
			both(func(c *watch.Core) { c.AbortHandoff(now) })
		case x < 96:
			deaf = !deaf
		case x < 97: // node 3 heartbeats a term not yet decided here
			hb := &acceptor.Heartbeat{Term: term + 1, Leader: 3, Incarnation: incarnationOf(3), Seq: 1}
			both(func(c *watch.Core) { c.Step(now, hb) })
		}
		// The reference ticks on every grid point; the twin only once due.
		due := lazy.TickDue()
		every.Tick(now)
		if due <= now {
			lazy.Tick(now)
		}
		want, got := every.Ready(), lazy.Ready()
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("seed %d at %v (TickDue was %v): ticked every %v: %+v\nticked when due: %+v\nreplay: go test ./actors/watch -run 'TestTickDue/.*/seed=%d$'",
				seed, now-start, due-start, grid, want, got, seed)
		}
		if want.Campaign != nil {
			campaign = want.Campaign
		}
		if hbs, _ := sent[*acceptor.Heartbeat](want); len(hbs) > 0 {
			lastBeat = hbs[0]
		}
	}
}
