package localproc

import (
	"slices"
	"strings"
	"testing"
)

func TestFreePortsAreDistinctLoopbackPorts(t *testing.T) {
	ports, err := FreePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 8 || len(slices.Compact(slices.Sorted(slices.Values(ports)))) != 8 {
		t.Fatalf("FreePorts(8) = %v, want 8 distinct", ports)
	}
	for _, p := range ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("%s is not on 127.0.0.1", p)
		}
	}
}

func TestEnvWithoutSynod(t *testing.T) {
	t.Setenv("SYNOD_ID", "7")
	t.Setenv("SYNODX", "kept")
	env := EnvWithoutSynod()
	if slices.Contains(env, "SYNOD_ID=7") || !slices.Contains(env, "SYNODX=kept") {
		t.Fatalf("EnvWithoutSynod kept SYNOD_ID or dropped SYNODX: %v", env)
	}
}
