package learner_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/synod/synod/learner"
)

// drain returns what s holds right now, without waiting.
func drain(s *learner.Subscription) []uint64 {
	var got []uint64
	for {
		select {
		case d, ok := <-s.C():
			if !ok {
				return got
			}
			got = append(got, d.Instance)
		default:
			return got
		}
	}
}

func decisions(from, to uint64) []learner.Decision {
	var ds []learner.Decision
	for i := from; i <= to; i++ {
		ds = append(ds, learner.Decision{Instance: i})
	}
	return ds
}

func TestFeedDeliversInOrderToEverySubscriber(t *testing.T) {
	f := learner.NewFeed()
	a, b := f.Subscribe(10), f.Subscribe(10)
	f.Publish(decisions(1, 3)...)
	f.Publish()
	f.Publish(decisions(4, 5)...)
	for name, s := range map[string]*learner.Subscription{"a": a, "b": b} {
		if got := drain(s); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) || s.Missed() != 0 {
			t.Errorf("%s received %v, missed %d; want 1..5, none missed", name, got, s.Missed())
		}
	}
}

// A lagging subscriber loses the oldest pending decisions, never the newest,
// and counts what it lost; other subscribers are unaffected.
func TestFeedFullSubscriberLosesOldest(t *testing.T) {
	f := learner.NewFeed()
	slow, fast := f.Subscribe(2), f.Subscribe(100)
	f.Publish(decisions(1, 5)...)
	f.Publish(decisions(6, 6)...)
	if got := drain(slow); !slices.Equal(got, []uint64{5, 6}) || slow.Missed() != 4 {
		t.Errorf("slow subscriber received %v, missed %d; want [5 6], 4 missed", got, slow.Missed())
	}
	if got := drain(fast); len(got) != 6 || fast.Missed() != 0 {
		t.Errorf("fast subscriber received %v, missed %d", got, fast.Missed())
	}
	// Having caught up, it misses nothing more.
	f.Publish(decisions(7, 8)...)
	if got := drain(slow); !slices.Equal(got, []uint64{7, 8}) || slow.Missed() != 4 {
		t.Errorf("after catching up: %v, missed %d", got, slow.Missed())
	}
}

func TestFeedSubscribeBuffersAtLeastOne(t *testing.T) {
	f := learner.NewFeed()
	s := f.Subscribe(0)
	f.Publish(decisions(1, 3)...)
	if got := drain(s); !slices.Equal(got, []uint64{3}) || s.Missed() != 2 {
		t.Errorf("Subscribe(0) received %v, missed %d; want [3], 2 missed", got, s.Missed())
	}
}

// Publish runs on the learner's goroutine: a subscriber that never reads
// must not stall it.
func TestFeedPublishNeverBlocks(t *testing.T) {
	f := learner.NewFeed()
	s := f.Subscribe(4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint64(1); i <= 10000; i++ {
			f.Publish(learner.Decision{Instance: i})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if got := drain(s); !slices.Equal(got, []uint64{9997, 9998, 9999, 10000}) || s.Missed() != 9996 {
		t.Errorf("received %v, missed %d", got, s.Missed())
	}
}

func TestFeedCloseIsIdempotentAndClosesChannel(t *testing.T) {
	f := learner.NewFeed()
	s, other := f.Subscribe(4), f.Subscribe(4)
	f.Publish(decisions(1, 1)...)
	s.Close()
	s.Close()
	// Publishing after Close must neither panic nor deliver.
	f.Publish(decisions(2, 2)...)
	var got []uint64
	for d := range s.C() { // ends only if the channel is closed
		got = append(got, d.Instance)
	}
	if !slices.Equal(got, []uint64{1}) {
		t.Errorf("closed subscription yielded %v, want only [1] from before Close", got)
	}
	if got := drain(other); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("closing one subscription disturbed another: %v", got)
	}
}

// Under -race: publishers, a reader and Close all at once. Every decision
// published to a subscription is either read, counted missed, or still
// buffered; none is lost silently and nothing is sent on a closed channel.
func TestFeedConcurrentPublishReadClose(t *testing.T) {
	const publishers, each = 4, 2000
	f := learner.NewFeed()
	kept := f.Subscribe(8)
	closing := f.Subscribe(8)

	var read uint64
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for range kept.C() {
			read++
		}
	}()
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range uint64(each) {
				f.Publish(learner.Decision{Instance: uint64(p)*each + i + 1})
			}
		})
	}
	published := make(chan struct{})
	closerDone := make(chan struct{})
	go func() {
		defer close(closerDone)
		for range 100 {
			select {
			case <-closing.C():
			case <-published:
			}
		}
		closing.Close()
	}()
	pubs.Wait()
	close(published)
	<-closerDone
	kept.Close()
	<-readerDone
	if total := read + kept.Missed(); total != publishers*each {
		t.Fatalf("read %d + missed %d = %d, want %d published", read, kept.Missed(), total, publishers*each)
	}
}
