package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/synod/synod/supervisor"
)

// followPoll is how often --follow looks for new lines.
const followPoll = 200 * time.Millisecond

// followLogFile renders the log at path like renderLogFile, then keeps
// rendering lines as they are appended until ctx ends. A line is rendered
// only once it is complete (ends in a newline), since writers append
// whole lines in one write but a read may catch one half-written.
func followLogFile(ctx context.Context, w io.Writer, path string, f logFilter) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer file.Close()
	r := bufio.NewReaderSize(file, 64*1024)
	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		switch {
		case err == nil:
			if len(bytes.TrimSpace(partial)) > 0 {
				e, perr := supervisor.ParseLine(partial)
				if perr != nil {
					fmt.Fprintf(w, "(unreadable: %v)\n", perr)
				} else if f.keep(e) {
					fmt.Fprintln(w, renderEntry(e))
				}
			}
			partial = partial[:0]
		case errors.Is(err, io.EOF):
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(followPoll):
			}
		default:
			return fmt.Errorf("logs: %w", err)
		}
	}
}
