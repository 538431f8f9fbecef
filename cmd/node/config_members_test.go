package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/synod/synod/remote"
)

func TestIDFromHostname(t *testing.T) {
	for host, want := range map[string]remote.NodeID{
		"synod-0": 1, "synod-2": 3, "synod-2.synod.default.svc.cluster.local": 3, "my-app-db-10": 11,
	} {
		if got, err := idFromHostname(host); err != nil || got != want {
			t.Errorf("idFromHostname(%q) = %d, %v; want %d", host, got, err, want)
		}
	}
	for host, want := range map[string]string{
		"synod":                      `host name "synod" does not end in -<ordinal>`,
		"synod-":                     `host name "synod-" does not end in -<ordinal>`,
		"synod-a":                    `"a" after the last - is not an ordinal`,
		"synod-01":                   `"01" after the last - is not an ordinal`,
		"synod-1x.y":                 `"1x" after the last - is not an ordinal`,
		"n1.synod-0":                 `host name "n1.synod-0" does not end in -<ordinal>`,
		"synod-99999999999999999999": "is not an ordinal",
	} {
		if _, err := idFromHostname(host); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("idFromHostname(%q) = %v, want an error containing %q", host, err, want)
		}
	}
}

// TestMembersFromEveryLayer: members come from the file, SYNOD_MEMBERS or
// --member, with the usual precedence, and the id picks this node.
func TestMembersFromEveryLayer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte("cluster: c\ndata-dir: /d\nmembers:\n  - 1=127.0.0.1:7001\n  - 2=127.0.0.1:7002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := fileLayer(path)
	if err != nil {
		t.Fatal(err)
	}
	env := envLayer(func(k string) string {
		return map[string]string{"SYNOD_MEMBERS": "1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103", "SYNOD_SINGLE_NODE": "false"}[k]
	})
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addConfigFlags(fs)
	if err := fs.Parse([]string{"--id", "3", "--member", "3=127.0.0.1:7203", "--member", "4=127.0.0.1:7204"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		layers []layer
		listen string
		peers  int
	}{
		{"file", []layer{file, {"id": {"2"}}}, "127.0.0.1:7002", 1},
		{"env over file", []layer{file, env, {"id": {"2"}}}, "127.0.0.1:7102", 2},
		{"flag over env", []layer{file, env, flagLayer(fs)}, "127.0.0.1:7203", 1},
	} {
		c, err := parseConfig(merge(append([]layer{defaultLayer}, tc.layers...)...))
		if err != nil || c.Listen != tc.listen || len(c.Peers) != tc.peers {
			t.Errorf("%s: listen %q, %d peers, %v; want %s and %d peers", tc.name, c.Listen, len(c.Peers), err, tc.listen, tc.peers)
		}
	}
}
