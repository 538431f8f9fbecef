package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"
)

// plainEvery is how often the bars are drawn where stderr is not a
// terminal.
const plainEvery = 10 * time.Second

// progress shows how far each scenario has got, on stderr, as mpb bars:
// redrawn in place on a terminal; elsewhere (a CI log, a pipe, a terminal
// nobody sized) drawn as plain lines every plainEvery, since a log cannot
// move its cursor back. Its methods may be called from any goroutine.
type progress struct {
	p     *mpb.Progress
	plain *plainConsole // nil on a terminal
	// refresh asks mpb to draw (plain mode only).
	refresh chan any
	stop    chan struct{}
	mu      sync.Mutex // serialises plain writes
}

func newProgress() *progress {
	pr := &progress{}
	// A terminal without a size (e.g. a pty nobody sized) would show no
	// bars at all, so it gets the plain mode.
	if ws, err := unix.IoctlGetWinsize(int(os.Stderr.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		pr.p = mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
		return pr
	}
	pr.plain = &plainConsole{out: os.Stderr, mu: &pr.mu}
	pr.refresh = make(chan any, 1)
	pr.stop = make(chan struct{})
	pr.p = mpb.New(mpb.WithConsoleWriter(pr.plain), mpb.WithManualRefresh(pr.refresh), mpb.WithWidth(60))
	go func() {
		t := time.NewTicker(plainEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				pr.draw()
			case <-pr.stop:
				return
			}
		}
	}()
	return pr
}

// draw asks for a plain-mode drawing of the bars, unless one is pending.
func (pr *progress) draw() {
	select {
	case pr.refresh <- time.Now():
	default:
	}
}

// Logf prints a line (above the bars on a terminal).
func (pr *progress) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	if pr.plain == nil {
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
	opts := []mpb.BarOption{
		mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-10s", name)), decor.CountersNoUnit(" %d/%d")),
		// No time left: the steps of one bar can differ a hundredfold
		// (a crash that waits out a 60 s session beside a 5 ms hand-off).
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)),
	}
	if pr.plain != nil {
		// A log shows a finished bar once, not in every later drawing.
		opts = append(opts, mpb.BarRemoveOnComplete())
	}
	// A bar made with total 0 completes only when Finish says so: mpb
	// judges completion against the total the bar was made with, so a
	// bar made with its first guess would end when the count first
	// reached it, however the total changed later.
	b.b = pr.p.AddBar(0, opts...)
	if total > 0 {
		b.b.SetTotal(int64(total), false)
	}
	return b
}

// Wait lets the bars finish drawing; call once, at the end.
func (pr *progress) Wait() {
	if pr.plain == nil {
		pr.p.Wait()
		return
	}
	// mpb retires a finished bar when it draws it, and in plain mode it
	// draws only when asked.
	close(pr.stop)
	waited := make(chan struct{})
	go func() {
		pr.p.Wait()
		close(waited)
	}()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-waited:
			return
		case <-t.C:
			pr.draw()
		}
	}
}

// bar is one scenario's progress.
type bar struct {
	pr          *progress
	b           *mpb.Bar
	name        string
	mu          sync.Mutex
	done, total int
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
	b.b.SetTotal(int64(total), false)
	b.b.SetCurrent(int64(done))
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
	b.b.SetTotal(int64(b.done), true)
	if b.pr.plain != nil {
		b.pr.draw() // its last drawing, after which mpb drops it
	}
}

// plainConsole is mpb's output where stderr is not a terminal: each
// drawing is written as plain lines, without the cursor movements that
// redraw in place.
type plainConsole struct {
	bytes.Buffer
	out io.Writer
	mu  *sync.Mutex
}

func (c *plainConsole) IsTerminal() bool { return false }

func (c *plainConsole) GetTermSize() (int, int, error) {
	return 0, 0, errors.New("progress: not a terminal")
}

// Flush writes the drawing mpb buffered, whole.
func (c *plainConsole) Flush(int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.Reset()
	if c.Len() == 0 {
		return nil
	}
	_, err := c.out.Write(c.Bytes())
	return err
}
