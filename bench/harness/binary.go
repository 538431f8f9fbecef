package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// binary is a program the run built and measured: enough to tell which
// code made the numbers (and to check a binary against them) without
// keeping a copy of it in the results directory.
type binary struct {
	Name      string `json:"name"`
	Package   string `json:"package"` // the directory built
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	Module    string `json:"module"` // main module path and version, as the binary records them
	GoVersion string `json:"go_version"`
	Revision  string `json:"vcs_revision,omitempty"`
	Modified  bool   `json:"vcs_modified,omitempty"`
}

// describeBinary hashes the binary at path and reads its build info.
func describeBinary(name, pkg, path string) (binary, error) {
	b := binary{Name: name, Package: pkg}
	f, err := os.Open(path)
	if err != nil {
		return b, fmt.Errorf("binary %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	if b.Bytes, err = io.Copy(h, f); err != nil {
		return b, fmt.Errorf("binary %s: %w", name, err)
	}
	b.SHA256 = hex.EncodeToString(h.Sum(nil))
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return b, fmt.Errorf("binary %s: build info: %w", name, err)
	}
	b.Module, b.GoVersion = info.Main.Path+"@"+info.Main.Version, info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Revision == "" {
		// Built with -buildvcs=false (GOFLAGS may say so): ask git about
		// the checkout it was built from.
		b.Revision, b.Modified = gitRevision(pkg)
	}
	return b, nil
}

// gitRevision is the commit checked out at dir and whether tracked files
// differ from it; "" if dir is not in a git checkout.
func gitRevision(dir string) (string, bool) {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(out)), err == nil && len(bytes.TrimSpace(st)) > 0
}
