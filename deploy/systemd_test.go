package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unitFile = "systemd/synod.service"

// unitSettings reads a systemd unit file as section → key → values.
func unitSettings(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: not key=value in a section: %q", path, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// ExecStart pointing at an executable that exists here (verify checks
// that): any complaint, even a warning such as an unknown key, fails.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skipf("systemd-analyze is not installed (%v); on Debian: apt-get install systemd", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	const bin = "/usr/local/bin/synod"
	if !strings.Contains(string(unit), "ExecStart="+bin+" ") {
		t.Fatalf("%s: ExecStart does not run %s", unitFile, bin)
	}
	path := filepath.Join(t.TempDir(), "synod.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), bin, exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}
}

// TestSystemdUnitFitsTheNode checks what the node relies on: SIGTERM with
// time for the hand-off, no restart after a start failure the node says
// no restart can fix (its exit statuses 3, 4 and 5), the start limit in
// [Unit] (systemd ignores it in [Service]), and the settings that make
// one config file serve every machine.
func TestSystemdUnitFitsTheNode(t *testing.T) {
	u := unitSettings(t, unitFile)
	svc := u["Service"]
	one := func(key string) string {
		if v := svc[key]; len(v) == 1 {
			return v[0]
		}
		t.Errorf("[Service] %s: %v, want one value", key, svc[key])
		return ""
	}
	if _, ok := svc["StartLimitIntervalSec"]; ok || len(u["Unit"]["StartLimitIntervalSec"]) != 1 {
		t.Errorf("StartLimitIntervalSec belongs in [Unit] only: [Unit] %v, [Service] %v", u["Unit"]["StartLimitIntervalSec"], svc["StartLimitIntervalSec"])
	}
	if one("KillSignal") != "SIGTERM" {
		t.Errorf("KillSignal %q: the node resigns on SIGTERM", one("KillSignal"))
	}
	stop, err := time.ParseDuration(one("TimeoutStopSec"))
	if err != nil || stop < 2*closeTimeout(t) {
		t.Errorf("TimeoutStopSec %q (%v): want at least twice the node's close timeout %v", one("TimeoutStopSec"), err, closeTimeout(t))
	}
	prevent := strings.Fields(one("RestartPreventExitStatus"))
	for _, name := range []string{"exitCannotStart", "exitStartFailed", "exitSuperseded"} {
		code := nodeConst(t, "start_report.go", name)
		if !slices.Contains(prevent, strconv.Itoa(code)) {
			t.Errorf("RestartPreventExitStatus %v lacks %d (%s)", prevent, code, name)
		}
	}
	exec := strings.Fields(one("ExecStart"))
	for _, want := range []string{"--no-supervise", "--config"} {
		if !slices.Contains(exec, want) {
			t.Errorf("ExecStart %v lacks %s", exec, want)
		}
	}
	if one("EnvironmentFile") == "" {
		t.Error("no EnvironmentFile: where does each machine's SYNOD_ID come from?")
	}
}
