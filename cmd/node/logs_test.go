package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/supervisor"
)

func TestRenderLog(t *testing.T) {
	dir := t.TempDir()
	log, closer, err := supervisor.OpenFileLog(dir, "2", nil)
	if err != nil {
		t.Fatal(err)
	}
	log.LeaderElected(7, "3")
	log.WorkerExited("signal: killed", 0)
	log.WorkerRestarted(1, 100*time.Millisecond)
	closer.Close()
	path := filepath.Join(dir, supervisor.LogFileName)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"level\":\"info\",\"message\":\"no event\"}\nnot json\n")
	f.Close()

	tests := []struct {
		filter    logFilter
		want, not []string
	}{
		{logFilter{}, []string{"leader_elected    term=7 leader=3", `worker_exited     restarts=0 reason="signal: killed"`,
			"worker_restarted  restarts=1 backoff=100ms", "unreadable: line 5"}, []string{"no event"}},
		{logFilter{event: "worker_exited,worker_restarted"}, []string{"worker_exited", "worker_restarted"}, []string{"leader_elected"}},
		{logFilter{node: "9"}, nil, []string{"leader_elected", "worker_exited"}},
		{logFilter{all: true}, []string{"node     -"}, nil},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		if err := renderLogFile(&out, path, tc.filter, ""); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("filter %+v: output lacks %q:\n%s", tc.filter, w, out.String())
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out.String(), n) {
				t.Errorf("filter %+v: output has %q:\n%s", tc.filter, n, out.String())
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*followPoll)
	defer cancel()
	var out bytes.Buffer
	if err := followLogFile(ctx, &out, path, logFilter{event: "leader_elected"}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "leader_elected") != 1 {
		t.Errorf("follow output:\n%s", out.String())
	}
}

// TestLogsRefusesUnknownEvent: a misspelt --event is refused, listing the
// events there are, instead of printing nothing as if nothing happened.
func TestLogsRefusesUnknownEvent(t *testing.T) {
	dir := t.TempDir()
	log, closer, err := supervisor.OpenFileLog(dir, "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	log.LeaderElected(1, "1")
	log.NodeSuperseded("a newer process of node 1 joined")
	closer.Close()
	for _, tc := range []struct {
		event, wantErr, wantLine string
	}{
		{"bogus", `logs: event: unknown event "bogus" (known: actor_failed, actor_restarted`, ""},
		{"leader_elected, leader_elcted", `unknown event "leader_elcted"`, ""},
		{"leader_elected,worker_exited", "", "leader_elected"},
		{"node_superseded", "", "node_superseded"},
	} {
		var out bytes.Buffer
		root := rootCommand()
		root.SetOut(&out)
		root.SetArgs([]string{"logs", "--data-dir", dir, "--event", tc.event})
		err := root.Execute()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("--event %s: %v", tc.event, err)
		case tc.wantErr == "" && !strings.Contains(out.String(), tc.wantLine):
			t.Errorf("--event %s printed:\n%s", tc.event, out.String())
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("--event %s: err = %v, want %q", tc.event, err, tc.wantErr)
		}
	}
}
