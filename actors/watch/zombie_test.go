package watch_test

import (
	"testing"
)

// TestLateAckCannotReviveALapsedLease: the lease ran out between ticks,
// and a late majority ack for a heartbeat sent after the one that granted
// it arrives before the next tick. The leader must step down, not stretch
// a lease that already ended (the API had cancelled the Lead context at
// the lapse; a revived lease would leave it leading with no context).
func TestLateAckCannotReviveALapsedLease(t *testing.T) {
	c := leading(t, 0) // lease counted from heartbeat 1, sent at 0
	end := c.LeaseUntil()
	c.Tick(ms(50)) // sends heartbeat 2 at 50 ms; no one acks it in time
	c.Ready()
	late := end + ms(1)
	ack(c, late, 5, 2, 1, 2) // a majority for heartbeat 2, after the lease ended
	rd := c.Ready()
	if c.Leading(late) {
		t.Fatalf("leading at %v after the lease ended at %v: a late ack revived it", late, end)
	}
	stepped := false
	for _, ev := range rd.Events {
		if ev.Reason == "lease_expired" && !ev.Leading {
			stepped = true
		}
	}
	if !stepped {
		t.Fatalf("no lease_expired event when the late ack arrived: %+v", rd.Events)
	}
}
