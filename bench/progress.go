package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"
)

// progress shows how far each scenario has got, on stderr: bars when
// stderr is a terminal with a width, else a line now and then (for CI
// logs). Its methods may be called from any goroutine.
type progress struct {
	p  *mpb.Progress // nil when stderr is not a terminal
	mu sync.Mutex    // serialises plain lines
}

func newProgress() *progress {
	pr := &progress{}
	// A terminal without a size (e.g. a pty nobody sized) would show no
	// bars at all, so it gets the plain lines.
	if ws, err := unix.IoctlGetWinsize(int(os.Stderr.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		pr.p = mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
	}
	return pr
}

// Logf prints a line above the bars.
func (pr *progress) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	if pr.p != nil {
		if _, err := pr.p.Write([]byte(line)); err == nil {
			return
		}
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	_, _ = io.WriteString(os.Stderr, line)
}

// Bar starts a bar for name with total steps (0: not known yet).
func (pr *progress) Bar(name string, total int) *bar {
	b := &bar{pr: pr, name: name, total: total, started: time.Now()}
	if pr.p != nil {
		b.b = pr.p.AddBar(int64(max(total, 1)),
			mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-10s", name)), decor.CountersNoUnit(" %d/%d")),
			mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)))
	} else {
		pr.Logf("%s: started", name)
	}
	return b
}

// Wait lets the bars finish drawing; call once, at the end.
func (pr *progress) Wait() {
	if pr.p != nil {
		pr.p.Wait()
	}
}

// bar is one scenario's progress.
type bar struct {
	pr          *progress
	b           *mpb.Bar
	name        string
	mu          sync.Mutex
	done, total int
	lastLine    time.Time
	started     time.Time
	finished    bool
}

// Set says done of total steps are done.
func (b *bar) Set(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.done, b.total = done, total
	if b.b != nil {
		b.b.SetTotal(int64(max(total, 1)), false)
		b.b.SetCurrent(int64(done))
		return
	}
	if time.Since(b.lastLine) >= 10*time.Second {
		b.lastLine = time.Now()
		b.pr.Logf("%s: %d/%d (%v)", b.name, done, total, time.Since(b.started).Round(time.Second))
	}
}

// Incr adds one done step.
func (b *bar) Incr() {
	b.mu.Lock()
	done, total := b.done+1, b.total
	b.mu.Unlock()
	b.Set(done, total)
}

// Finish completes the bar (even if fewer steps were done).
func (b *bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.b != nil {
		b.b.SetTotal(int64(b.done), true)
		return
	}
	b.pr.Logf("%s: done in %v", b.name, time.Since(b.started).Round(time.Millisecond))
}
