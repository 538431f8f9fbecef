package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVersionOf(t *testing.T) {
	yes, no := true, false
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "31517f4bb7041eaf4fa4300e7fe313fc182859b2"
	for _, tc := range []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     buildVersion
		line     string
	}{{
		name:     "tagged, clean",
		version:  "v0.3.1",
		settings: settings("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-04T21:50:43Z", "vcs.modified", "false"),
		want:     buildVersion{Module: "github.com/synod/synod", Version: "v0.3.1", Commit: rev, CommitTime: "2026-12-04T21:50:43Z", Modified: &no, Go: "go1.26.8"},
		line:     "synod v0.3.1 (commit 31517f4bb704, 2026-12-04) go1.26.8",
	}, {
		name:     "checkout with changes",
		version:  "v0.0.0-20261204215043-31517f4bb704+dirty",
		settings: settings("vcs.revision", rev, "vcs.time", "2026-12-04T21:50:43Z", "vcs.modified", "true"),
		want: buildVersion{Module: "github.com/synod/synod", Version: "v0.0.0-20261204215043-31517f4bb704+dirty", Commit: rev,
			CommitTime: "2026-12-04T21:50:43Z", Modified: &yes, Go: "go1.26.8"},
		line: "synod v0.0.0-20261204215043-31517f4bb704+dirty (commit 31517f4bb704, 2026-12-04, modified) go1.26.8",
	}, {
		name:    "no VCS information",
		version: "(devel)",
		want:    buildVersion{Module: "github.com/synod/synod", Version: "(devel)", Go: "go1.26.8"},
		line:    "synod (devel) (no commit recorded) go1.26.8",
	}, {
		name:     "no version at all, a time that does not parse",
		settings: settings("vcs.revision", "abc", "vcs.time", "yesterday"),
		want:     buildVersion{Module: "github.com/synod/synod", Version: "(devel)", Commit: "abc", CommitTime: "yesterday", Go: "go1.26.8"},
		line:     "synod (devel) (commit abc, yesterday) go1.26.8",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/synod/synod", Version: tc.version}, Settings: tc.settings}
			got := versionOf(bi, true)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tc.want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("versionOf = %s, want %s", gotJSON, wantJSON)
			}
			if l := got.line(); l != tc.line {
				t.Errorf("line = %q, want %q", l, tc.line)
			}
		})
	}
	if v := versionOf(nil, false); v.Version != "unknown" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("without build info: %+v", v)
	}
}

// TestVersionCommand runs "synod version" on the binary the process tests
// built, which may or may not carry a commit (GOFLAGS may say
// -buildvcs=false): both forms must be well-formed and agree.
func TestVersionCommand(t *testing.T) {
	v := runVersion(t, synodBin)
	line := strings.TrimSpace(string(runOK(t, synodBin, "version")))
	if line != v.line() {
		t.Errorf("synod version printed %q; its --json renders as %q", line, v.line())
	}
	if v.Module != "github.com/synod/synod" || v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("synod version --json: %+v", v)
	}
	if (v.Commit == "") != (v.Modified == nil) {
		t.Errorf("synod version --json: commit %q with modified %v", v.Commit, v.Modified)
	}
}

// TestVersionFromCheckout builds the binary with VCS stamping from the git
// checkout this test runs in, and checks that it reports the checkout's
// HEAD, its commit time, and whether the checkout had changes.
func TestVersionFromCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout (or no git): %v", err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		// The Go toolchain takes only a .git directory for a checkout's
		// root (golang/go#58218); a linked worktree's .git is a file.
		t.Skip("a linked git worktree: the Go toolchain records no commit here; run this test in a clone")
	}
	head := strings.TrimSpace(string(runOK(t, "git", "rev-parse", "HEAD")))
	ct, err := strconv.ParseInt(strings.TrimSpace(string(runOK(t, "git", "show", "-s", "--format=%ct", "HEAD"))), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	dirtyBefore := len(runOK(t, "git", "status", "--porcelain")) > 0

	bin := filepath.Join(t.TempDir(), "synod")
	// -buildvcs=true on the command line overrides a -buildvcs=false in
	// GOFLAGS, and makes a failure to read the checkout an error.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	dirtyAfter := len(runOK(t, "git", "status", "--porcelain")) > 0

	v := runVersion(t, bin)
	if v.Commit != head {
		t.Errorf("commit %q, want HEAD %s", v.Commit, head)
	}
	if when, err := time.Parse(time.RFC3339, v.CommitTime); err != nil || !when.Equal(time.Unix(ct, 0)) {
		t.Errorf("commit_time %q, want %s (%v)", v.CommitTime, time.Unix(ct, 0).UTC().Format(time.RFC3339), err)
	}
	switch {
	case v.Modified == nil:
		t.Errorf("modified is null with commit %s", v.Commit)
	case dirtyBefore == dirtyAfter && *v.Modified != dirtyBefore:
		t.Errorf("modified %v, but git status says the checkout is %s", *v.Modified, map[bool]string{true: "modified", false: "clean"}[dirtyBefore])
	}
	line := strings.TrimSpace(string(runOK(t, bin, "version")))
	if want := "(commit " + head[:shortCommit] + ", " + time.Unix(ct, 0).UTC().Format(time.DateOnly); !strings.Contains(line, want) {
		t.Errorf("synod version printed %q, want it to contain %q", line, want)
	}
	t.Logf("%s", line)
}

// runVersion runs "bin version --json" and decodes it strictly.
func runVersion(t *testing.T, bin string) buildVersion {
	t.Helper()
	out := runOK(t, bin, "version", "--json")
	var v buildVersion
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s version --json: %v\n%s", bin, err, out)
	}
	return v
}

// runOK runs a command and returns its standard output, failing the test
// if it fails.
func runOK(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}
