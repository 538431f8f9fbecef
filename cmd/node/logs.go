package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod/synod/supervisor"
)

func logsCommand() *cobra.Command {
	var dataDir, event, node string
	var all, follow bool
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Render a node's supervision log (<data-dir>/supervision.log) for people",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				dataDir = os.Getenv("SYNOD_DATA_DIR")
			}
			if dataDir == "" {
				return fmt.Errorf("logs: data-dir: missing")
			}
			if err := checkLogEvents(event); err != nil {
				return err
			}
			f := logFilter{event: event, node: node, all: all}
			if follow {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return followLogFile(ctx, cmd.OutOrStdout(), filepath.Join(dataDir, supervisor.LogFileName), f)
			}
			return renderLogFile(cmd.OutOrStdout(), filepath.Join(dataDir, supervisor.LogFileName), f, "")
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the node's data directory (default $SYNOD_DATA_DIR)")
	cmd.Flags().StringVar(&event, "event", "", "show only this event (comma-separated list allowed)")
	cmd.Flags().StringVar(&node, "node", "", "show only lines of this node")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing lines as they are appended (until Ctrl-C)")
	cmd.Flags().BoolVar(&all, "all", false, "also show lines without an event (library logging)")
	return cmd
}

// logEvents are the events the supervision log records.
var logEvents = supervisor.Events

// checkLogEvents refuses an --event list naming an event the log never
// records: a typo would otherwise print nothing, as if nothing happened.
func checkLogEvents(list string) error {
	if list == "" {
		return nil
	}
	for _, ev := range strings.Split(list, ",") {
		ev = strings.TrimSpace(ev)
		if !slices.Contains(logEvents, ev) {
			return fmt.Errorf("logs: event: unknown event %q (known: %s)", ev, strings.Join(logEvents, ", "))
		}
	}
	return nil
}

// logFilter selects lines of the supervision log.
type logFilter struct {
	event string // comma-separated; empty: any
	node  string
	all   bool
}

func (f logFilter) keep(e supervisor.Entry) bool {
	if e.Event == "" && !f.all {
		return false
	}
	if f.node != "" && e.Node != f.node {
		return false
	}
	if f.event == "" {
		return true
	}
	for _, ev := range strings.Split(f.event, ",") {
		if strings.TrimSpace(ev) == e.Event {
			return true
		}
	}
	return false
}

// renderLogFile writes the selected lines of the log at path to w, each
// prefixed by indent. Bad lines are reported in place and skipped.
func renderLogFile(w io.Writer, path string, f logFilter, indent string) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer file.Close()
	for e, err := range supervisor.ReadLog(file) {
		if err != nil {
			fmt.Fprintf(w, "%s(unreadable: %v)\n", indent, err)
			continue
		}
		if f.keep(e) {
			fmt.Fprintf(w, "%s%s\n", indent, renderEntry(e))
		}
	}
	return nil
}

// renderEntry formats one entry as a line for people: local time, node,
// event, then the fields the event carries.
func renderEntry(e supervisor.Entry) string {
	var b strings.Builder
	ts := "-"
	if !e.TS.IsZero() {
		ts = e.TS.Local().Format("15:04:05.000")
	}
	ev := e.Event
	if ev == "" {
		ev = "-"
	}
	fmt.Fprintf(&b, "%s  node %-3s %-17s", ts, e.Node, ev)
	add := func(k, v string) { fmt.Fprintf(&b, " %s=%s", k, v) }
	if e.Actor != "" {
		add("actor", e.Actor)
	}
	if e.Term != 0 {
		add("term", strconv.FormatUint(e.Term, 10))
	}
	if e.Leader != "" {
		add("leader", e.Leader)
	}
	if e.Directive != "" {
		add("directive", e.Directive)
	}
	if e.Restarts != 0 || e.Event == supervisor.EventWorkerExited {
		add("restarts", strconv.Itoa(e.Restarts))
	}
	if e.Window != 0 {
		add("window", e.Window.String())
	}
	if e.Backoff != 0 {
		add("backoff", e.Backoff.Round(time.Millisecond).String())
	}
	if e.Reason != "" {
		add("reason", strconv.Quote(e.Reason))
	}
	return strings.TrimRight(b.String(), " ")
}
