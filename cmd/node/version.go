package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// buildVersion is what "synod version" reports. Every field comes from
// what the Go toolchain recorded in the binary (runtime/debug.ReadBuildInfo),
// so there is no version string to keep in step by hand, and a binary
// says which commit it was built from without any -ldflags.
type buildVersion struct {
	// Module is the main module's path.
	Module string `json:"module"`
	// Version is the main module's version: a tag (v0.3.1), a
	// pseudo-version (v0.0.0-20261204215043-31517f4bb704, "+dirty" when
	// modified) for a build in a git checkout, or "(devel)" when the
	// toolchain recorded no version control information.
	Version string `json:"version"`
	// Commit is the full revision (vcs.revision); empty when none was
	// recorded: built with -buildvcs=false, outside a checkout, or in a
	// linked git worktree, where the Go toolchain does not look.
	Commit string `json:"commit"`
	// CommitTime is the commit's time (vcs.time), RFC 3339 in UTC; empty
	// with Commit.
	CommitTime string `json:"commit_time"`
	// Modified (vcs.modified) is true when the checkout had changes not
	// committed, untracked files included; null with no Commit.
	Modified *bool `json:"modified"`
	// Go is the toolchain that built the binary.
	Go string `json:"go"`
}

// shortCommit is how many hex digits of the commit the one-line form
// shows: as many as a Go pseudo-version carries.
const shortCommit = 12

// readVersion reads this binary's build information.
func readVersion() buildVersion { return versionOf(debug.ReadBuildInfo()) }

// versionOf maps build information onto buildVersion. ok false (a binary
// built without module support) gives version "unknown" and the
// running Go version.
func versionOf(bi *debug.BuildInfo, ok bool) buildVersion {
	if !ok || bi == nil {
		return buildVersion{Version: "unknown", Go: runtime.Version()}
	}
	v := buildVersion{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	modified := ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if b, err := strconv.ParseBool(modified); err == nil && v.Commit != "" {
		v.Modified = &b
	}
	return v
}

// line renders v on one line, for people:
//
//	synod v0.3.1 (commit 31517f4bb704, 2026-12-04, modified) go1.26.8
//	synod (devel) (no commit recorded) go1.26.8
func (v buildVersion) line() string {
	if v.Commit == "" {
		return fmt.Sprintf("synod %s (no commit recorded) %s", v.Version, v.Go)
	}
	commit := v.Commit
	if len(commit) > shortCommit {
		commit = commit[:shortCommit]
	}
	detail := "commit " + commit
	if t, err := time.Parse(time.RFC3339, v.CommitTime); err == nil {
		detail += ", " + t.UTC().Format(time.DateOnly)
	} else if v.CommitTime != "" {
		detail += ", " + v.CommitTime
	}
	if v.Modified != nil && *v.Modified {
		detail += ", modified"
	}
	return fmt.Sprintf("synod %s (%s) %s", v.Version, detail, v.Go)
}

func versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit this binary was built from",
		Long: `Print the main module's version, the commit the binary was built from, the
commit's date, whether the checkout had uncommitted changes, and the Go
version, as the Go toolchain recorded them at build time. --json prints
every field (module, version, commit, commit_time, modified, go).

The toolchain records the commit when it builds in a git checkout, unless
-buildvcs=false is set (in GOFLAGS too) or the checkout is a linked git
worktree; then the line says "no commit recorded".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printVersion(cmd.OutOrStdout(), readVersion(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print every field as one JSON object")
	return cmd
}

func printVersion(w io.Writer, v buildVersion, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(w, v.line())
	return err
}
