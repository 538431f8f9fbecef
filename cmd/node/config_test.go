package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/synod/synod/remote"

	"github.com/synod/synod/internal/localproc"
)

func TestParseConfig(t *testing.T) {
	base := func() layer {
		return layer{"cluster": {"c"}, "id": {"1"}, "listen": {"127.0.0.1:7001"}, "data-dir": {"/tmp/x"},
			"peer": {"2=127.0.0.1:7002", "3=127.0.0.1:7003"}}
	}
	members := func() layer {
		return layer{"cluster": {"c"}, "id": {"2"}, "data-dir": {"/tmp/x"},
			"member": {"1=127.0.0.1:7001", "2=127.0.0.1:7002", "3=127.0.0.1:7003"}}
	}
	with := func(k string, v ...string) layer {
		l := base()
		if v == nil {
			delete(l, k)
		} else {
			l[k] = v
		}
		return l
	}
	tests := []struct {
		name    string
		in      layer
		wantErr string // substring; empty means success
		check   func(t *testing.T, c nodeConfig)
	}{
		{name: "ok", in: base(), check: func(t *testing.T, c nodeConfig) {
			if c.ID != 1 || len(c.Peers) != 2 || c.Peers[3] != "127.0.0.1:7003" {
				t.Errorf("got %+v", c)
			}
			a := c.actorsConfig()
			if a.LeaseDuration != 300*time.Millisecond || a.HeartbeatInterval != 50*time.Millisecond {
				t.Errorf("defaults not applied: %+v", a)
			}
		}},
		{name: "id missing", in: with("id"), wantErr: "config: id: missing"},
		{name: "id zero", in: with("id", "0"), wantErr: "config: id: \"0\" is not a node id"},
		{name: "id not a number", in: with("id", "one"), wantErr: "config: id:"},
		{name: "cluster empty", in: with("cluster", ""), wantErr: "config: cluster: missing"},
		{name: "listen missing", in: with("listen"), wantErr: "config: listen: missing"},
		{name: "listen bad", in: with("listen", "localhost"), wantErr: "config: listen: \"localhost\" is not host:port"},
		{name: "data-dir missing", in: with("data-dir"), wantErr: "config: data-dir: missing"},
		{name: "peer syntax", in: with("peer", "2:127.0.0.1:7002"), wantErr: "config: peer: \"2:127.0.0.1:7002\": want id=host:port"},
		{name: "peer bad id", in: with("peer", "x=127.0.0.1:7002"), wantErr: "config: peer:"},
		{name: "peer bad addr", in: with("peer", "2=nowhere"), wantErr: "is not host:port"},
		{name: "peer duplicate", in: with("peer", "2=127.0.0.1:7002", "2=127.0.0.1:7003"), wantErr: "config: peer: node 2 listed twice"},
		{name: "self in peers", in: with("peer", "1=127.0.0.1:7009"), wantErr: "config: peer: \"1=127.0.0.1:7009\" names this node"},
		{name: "peer on own address", in: with("peer", "2=127.0.0.1:7001"), wantErr: "listen address"},
		{name: "bad duration", in: with("heartbeat", "fast"), wantErr: "config: heartbeat: \"fast\" is not a duration"},
		{name: "negative duration", in: with("election-timeout", "-1s"), wantErr: "config: election-timeout: -1s must be positive"},
		{name: "zero heartbeat", in: with("heartbeat", "0s"), wantErr: "config: heartbeat: 0s must be positive"},
		{name: "unknown preset", in: with("preset", "turbo"), wantErr: "config: preset: unknown preset \"turbo\""},
		{name: "preset and lease", in: merge(base(), layer{"preset": {"fast-failover"}, "lease": {"1s"}}), wantErr: "config: lease:"},
		{name: "fast-failover", in: with("preset", "fast-failover"), check: func(t *testing.T, c nodeConfig) {
			if d := c.actorsConfig().LeaseDuration; d != 0 {
				t.Errorf("LeaseDuration = %v, want 0", d)
			}
		}},
		{name: "timings", in: merge(base(), layer{"heartbeat": {"20ms"}, "election-timeout": {"1s"}, "lease": {"0"}}),
			check: func(t *testing.T, c nodeConfig) {
				a := c.actorsConfig()
				if a.HeartbeatInterval != 20*time.Millisecond || a.ElectionTimeout != time.Second || a.LeaseDuration != 0 {
					t.Errorf("got %v %v %v", a.HeartbeatInterval, a.ElectionTimeout, a.LeaseDuration)
				}
			}},
		{name: "half tls", in: with("tls-cert", "a.pem"), wantErr: "config: tls-cert, tls-key, tls-ca: give all three or none"},
		{name: "insecure bad", in: with("insecure", "maybe"), wantErr: "config: insecure: \"maybe\""},
		{name: "plaintext off loopback", in: with("peer", "2=10.0.0.2:7002", "3=127.0.0.1:7003"),
			wantErr: "config: insecure: 10.0.0.2:7002 is not a loopback address, and without tls-cert, tls-key and tls-ca the nodes would talk in plaintext"},
		{name: "plaintext off loopback, insecure", in: merge(with("peer", "2=10.0.0.2:7002", "3=127.0.0.1:7003"), layer{"insecure": {"true"}}),
			check: func(t *testing.T, c nodeConfig) {
				if !c.Insecure {
					t.Error("Insecure not set")
				}
			}},
		{name: "lease too short for drift", in: merge(base(), layer{"heartbeat": {"100ms"}, "lease": {"202ms"}}),
			wantErr: "config: lease: lease 202ms, less 1% allowed clock drift, leaves the leader 198ms: that must exceed two heartbeats (200ms)"},
		{name: "admin bad", in: with("admin", "7070"), wantErr: "config: admin:"},
		{name: "admin loopback default", in: with("admin", ":7070"), check: func(t *testing.T, c nodeConfig) {
			if c.Admin != "127.0.0.1:7070" {
				t.Errorf("Admin = %q", c.Admin)
			}
		}},
		{name: "no peers", in: with("peer"), wantErr: "config: member: none given; list every node of the cluster (member, or the others with peer), or set single-node"},
		{name: "single node", in: merge(with("peer"), layer{"single-node": {"true"}}), check: func(t *testing.T, c nodeConfig) {
			if len(c.Peers) != 0 || !c.SingleNode {
				t.Errorf("Peers = %v, SingleNode %v", c.Peers, c.SingleNode)
			}
		}},
		{name: "single node with peers", in: with("single-node", "true"), wantErr: "config: single-node: set, but other nodes are listed (2, 3)"},
		{name: "single-node not a bool", in: with("single-node", "yes please"), wantErr: `config: single-node: "yes please" is not true or false`},
		{name: "members", in: members(), check: func(t *testing.T, c nodeConfig) {
			if c.ID != 2 || c.Listen != "127.0.0.1:7002" || c.Address != "127.0.0.1:7002" || len(c.Peers) != 2 ||
				c.Peers[1] != "127.0.0.1:7001" || c.Peers[3] != "127.0.0.1:7003" {
				t.Errorf("got %+v", c)
			}
			if a := c.actorsConfig(); a.Address != "127.0.0.1:7002" || len(a.Peers) != 2 {
				t.Errorf("actors config: address %q, peers %v", a.Address, a.Peers)
			}
		}},
		{name: "members with a bind address", in: merge(members(), layer{"listen": {"0.0.0.0:7002"}, "insecure": {"true"}}),
			check: func(t *testing.T, c nodeConfig) {
				if c.Listen != "0.0.0.0:7002" || c.Address != "127.0.0.1:7002" {
					t.Errorf("listen %q, address %q", c.Listen, c.Address)
				}
			}},
		{name: "members and peers", in: merge(members(), layer{"peer": {"1=127.0.0.1:7001"}}), wantErr: "config: member, peer: both given"},
		{name: "not among members", in: merge(members(), layer{"id": {"4"}}), wantErr: "config: member: this node (id 4) is not among the members (1, 2, 3)"},
		{name: "members of one", in: merge(members(), layer{"member": {"2=127.0.0.1:7002"}}), wantErr: "config: member: lists only this node"},
		{name: "members of one, single node", in: merge(members(), layer{"member": {"2=127.0.0.1:7002"}, "single-node": {"true"}}),
			check: func(t *testing.T, c nodeConfig) {
				if len(c.Peers) != 0 || c.Listen != "127.0.0.1:7002" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "member duplicate", in: merge(members(), layer{"member": {"1=127.0.0.1:7001", "1=127.0.0.1:7005", "2=127.0.0.1:7002"}}),
			wantErr: "config: member: node 1 listed twice"},
		{name: "members share an address", in: merge(members(), layer{"member": {"1=127.0.0.1:7002", "2=127.0.0.1:7002"}}),
			wantErr: "config: member: nodes 1 and 2 share address 127.0.0.1:7002"},
		{name: "member syntax", in: merge(members(), layer{"member": {"2:127.0.0.1:7002"}}), wantErr: `config: member: "2:127.0.0.1:7002": want id=host:port`},
		{name: "id from hostname", in: merge(members(), layer{"id": nil, "id-from-hostname": {"true"}}), check: func(t *testing.T, c nodeConfig) {
			if c.ID != 3 || c.Listen != "127.0.0.1:7003" {
				t.Errorf("hostname synod-2 gave id %d, listen %q; want 3 and 127.0.0.1:7003", c.ID, c.Listen)
			}
		}},
		{name: "id and id from hostname", in: merge(members(), layer{"id-from-hostname": {"true"}}),
			wantErr: "config: id, id-from-hostname: id 2 given with id-from-hostname; give one of them"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := merge(defaultLayer, tc.in)
			for k, v := range in {
				if v == nil {
					delete(in, k)
				}
			}
			c, err := parseConfigWith(in, func() (string, error) { return "synod-2.synod.default.svc", nil })
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no error, want %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
			}
			if tc.check != nil && err == nil {
				tc.check(t, c)
			}
		})
	}
}

// TestPrecedence checks flag > env > file > default.
func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.yaml")
	yaml := "cluster: file\nid: 1\nlisten: 127.0.0.1:7001\ndata-dir: /file\nheartbeat: 10ms\npeers:\n  - 2=127.0.0.1:7002\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	fl, err := fileLayer(path)
	if err != nil {
		t.Fatal(err)
	}
	env := envLayer(func(k string) string {
		return map[string]string{"SYNOD_CLUSTER": "env", "SYNOD_DATA_DIR": "/env", "SYNOD_PEERS": "2=127.0.0.1:7002,3=127.0.0.1:7003"}[k]
	})
	flags := layer{"data-dir": {"/flag"}}
	c, err := parseConfig(merge(defaultLayer, fl, env, flags))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != "env" || c.DataDir != "/flag" || c.Heartbeat != 10*time.Millisecond || c.ID != 1 ||
		len(c.Peers) != 2 || c.Peers[remote.NodeID(3)] != "127.0.0.1:7003" {
		t.Errorf("got %+v", c)
	}
}

func TestFileLayerErrors(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key": "clustr: x\n",
		"not yaml":    "id: [1\n",
		"nested":      "peers:\n  - {a: b}\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node.yaml")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := fileLayer(path); err == nil || !strings.Contains(err.Error(), "config file") {
				t.Errorf("err = %v, want a config file error", err)
			}
		})
	}
	if _, err := fileLayer(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

// configYAML is a valid config file: line 1 cluster, 2 id, 3 listen, 4
// data-dir, 5-7 peers.
const configYAML = `cluster: c
id: 1
listen: 127.0.0.1:7001
data-dir: /tmp/synod-config-test
peers:
  - 2=127.0.0.1:7002
  - 3=127.0.0.1:7003
`

// yamlWith returns configYAML with each "key: value" of edits replacing
// the line of that key in place (for peers, the whole list), "-key"
// deleting it, and any other line appended from line 8 on.
func yamlWith(edits ...string) string {
	lines := strings.Split(strings.TrimSuffix(configYAML, "\n"), "\n")
	var tail []string
	for _, e := range edits {
		key, _, _ := strings.Cut(e, ":")
		del := strings.HasPrefix(e, "-")
		key = strings.TrimPrefix(key, "-")
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, key+":") {
				found = true
				if key == "peers" { // the list items go too
					lines = append(lines[:i+1], lines[i+3:]...)
				}
				if del {
					lines[i] = "# " + lines[i]
				} else {
					lines[i] = e
				}
			}
		}
		if !found {
			tail = append(tail, e)
		}
	}
	return strings.Join(append(lines, tail...), "\n") + "\n"
}

// loadFile runs the real config loading (loadConfig, as "synod run
// --config" does) on a file holding text.
func loadFile(t *testing.T, text string) (nodeConfig, string, error) {
	t.Helper()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SYNOD_") { // the environment outranks the file
			k, _, _ := strings.Cut(kv, "=")
			t.Setenv(k, "")
		}
	}
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addConfigFlags(fs)
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(fs)
	return c, path, err
}

// TestConfigFileMistakes: every kind of mistake in a config file gives
// one error, on one line, that names the file, the line and the setting.
func TestConfigFileMistakes(t *testing.T) {
	if _, _, err := loadFile(t, configYAML); err != nil {
		t.Fatalf("the valid file: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name, yaml string
		want       string // after "config file <path>: "; "" for errors not about one line
		wantAny    string // for those: a substring of the error
	}{
		{name: "unknown key", yaml: yamlWith("clustr: c"), want: "line 8: clustr: unknown setting"},
		{name: "bad duration", yaml: yamlWith("heartbeat: fast"), want: `line 8: heartbeat: "fast" is not a duration`},
		{name: "duration without unit", yaml: yamlWith("lease: 300"), want: `line 8: lease: "300" is not a duration`},
		{name: "negative duration", yaml: yamlWith("election-timeout: -1s"), want: "line 8: election-timeout: -1s must be positive"},
		{name: "zero heartbeat", yaml: yamlWith("heartbeat: 0s"), want: "line 8: heartbeat: 0s must be positive"},
		{name: "election timeout below heartbeat", yaml: yamlWith("election-timeout: 40ms"), want: "line 8: election-timeout: 40ms must exceed heartbeat (50ms)"},
		{name: "heartbeat above election timeout", yaml: yamlWith("heartbeat: 500ms"), want: "line 8: heartbeat: 500ms must be below election-timeout (300ms)"},
		{name: "lease below heartbeat", yaml: yamlWith("lease: 40ms"), want: "line 8: lease: 40ms must exceed heartbeat (50ms)"},
		{name: "heartbeat above lease", yaml: yamlWith("heartbeat: 400ms", "election-timeout: 1s"), want: "line 8: heartbeat: 400ms must be below lease (300ms)"},
		{name: "preset and lease", yaml: yamlWith("preset: fast-failover", "lease: 1s"), want: "line 9: lease: 1s conflicts with preset fast-failover"},
		{name: "unknown preset", yaml: yamlWith("preset: turbo"), want: `line 8: preset: unknown preset "turbo" (known: fast-failover)`},
		{name: "duplicate peer id", yaml: yamlWith("peers: [2=127.0.0.1:7002, 2=127.0.0.1:7003]"), want: "line 5: peer: node 2 listed twice"},
		{name: "peer is this node", yaml: yamlWith("peers: [1=127.0.0.1:7009]"), want: `line 5: peer: "1=127.0.0.1:7009" names this node (id 1)`},
		{name: "malformed peer", yaml: yamlWith("peers: [2:127.0.0.1:7002]"), want: `line 5: peer: "2:127.0.0.1:7002": want id=host:port`},
		{name: "peer id zero", yaml: yamlWith("peers: [0=127.0.0.1:7002]"), want: `line 5: peer: "0=127.0.0.1:7002": "0" is not a node id`},
		{name: "peers share an address", yaml: yamlWith("peers: [2=127.0.0.1:7002, 3=127.0.0.1:7002]"), want: "line 5: peer: nodes 2 and 3 share address 127.0.0.1:7002"},
		{name: "peer on own address", yaml: yamlWith("peers: [2=127.0.0.1:7001]"), want: "line 5: peer: node 2 has this node's listen address"},
		{name: "peers as a mapping", yaml: yamlWith("peers: {2: 127.0.0.1:7002}"), want: "line 5: peers: want a list of id=host:port strings"},
		{name: "peer and peers", yaml: yamlWith("peer: 4=127.0.0.1:7004"), want: "line 8: peer: also set on line 5"},
		{name: "nested peer", yaml: yamlWith("peers: [{a: b}]"), want: "line 5: peers: want a list of id=host:port strings"},
		{name: "listen not host:port", yaml: yamlWith("listen: localhost"), want: `line 3: listen: "localhost" is not host:port`},
		{name: "listen bad port", yaml: yamlWith("listen: 127.0.0.1:99999"), want: `line 3: listen: "127.0.0.1:99999": bad port "99999"`},
		{name: "admin same as listen", yaml: yamlWith("admin: 127.0.0.1:7001"), want: "line 8: admin: same address as listen"},
		{name: "empty cluster", yaml: yamlWith("cluster: ''"), want: "line 1: cluster: missing"},
		{name: "id zero", yaml: yamlWith("id: 0"), want: `line 2: id: "0" is not a node id (an integer above 0)`},
		{name: "id negative", yaml: yamlWith("id: -1"), want: `line 2: id: "-1" is not a node id`},
		{name: "id a list", yaml: yamlWith("id: [1, 2]"), want: "line 2: id: want a single value, not a list"},
		{name: "listen a mapping", yaml: yamlWith("listen: {host: 127.0.0.1}"), want: "line 3: listen: want a single value, not a mapping"},
		{name: "insecure not a bool", yaml: yamlWith("insecure: maybe"), want: `line 8: insecure: "maybe" is not true or false`},
		{name: "tls cert without key", yaml: yamlWith("tls-cert: " + missing + ".pem"), want: "line 8: tls-cert, tls-key, tls-ca: give all three or none (got only tls-cert)"},
		{name: "tls files missing", yaml: yamlWith("tls-cert: "+missing+".pem", "tls-key: "+missing+".key", "tls-ca: "+missing+".ca"),
			want: "line 8: tls-cert: stat " + missing + ".pem: no such file or directory"},
		{name: "yaml syntax", yaml: yamlWith("listen: 127.0.0.1:7001: x"), wantAny: "yaml: line 3: mapping values are not allowed in this context"},
		{name: "duplicate key", yaml: configYAML + "id: 2\n", want: "line 8: id: also set on line 2"},
		{name: "not a mapping", yaml: "- cluster: c\n", wantAny: "line 1: want a mapping of setting names to values"},
		{name: "members and peers", yaml: yamlWith("members: [1=127.0.0.1:7001, 2=127.0.0.1:7002]"),
			want: "line 8: member, peer: both given; list every node (this one included) with member, or the other nodes with peer, not both"},
		{name: "not among members", yaml: yamlWith("peers: []", "members: [2=127.0.0.1:7002, 3=127.0.0.1:7003]"),
			want: "line 6: member: this node (id 1) is not among the members (2, 3)"},
		{name: "members only this node", yaml: yamlWith("peers: []", "members: [1=127.0.0.1:7001]"),
			want: "line 6: member: lists only this node; list every node of the cluster, or set single-node for a cluster of one"},
		{name: "no peers", yaml: yamlWith("peers: []"), wantAny: "config: member: none given"},
		{name: "single node with peers", yaml: yamlWith("single-node: true"), want: "line 8: single-node: set, but other nodes are listed (2, 3)"},
		{name: "id and id from hostname", yaml: yamlWith("id-from-hostname: true"), want: "line 2: id, id-from-hostname: id 1 given with id-from-hostname"},
		{name: "id-from-hostname not a bool", yaml: yamlWith("id-from-hostname: sure"), want: `line 8: id-from-hostname: "sure" is not true or false`},
		{name: "members as a mapping", yaml: yamlWith("peers: []", "members: {1: 127.0.0.1:7001}"), want: "line 6: members: want a list of id=host:port strings"},
		{name: "id missing", yaml: yamlWith("-id"), wantAny: "config: id: missing"},
		{name: "data-dir missing", yaml: yamlWith("-data-dir"), wantAny: "config: data-dir: missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, path, err := loadFile(t, tc.yaml)
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.yaml)
			}
			msg := err.Error()
			want := tc.wantAny
			if tc.want != "" {
				want = "config file " + path + ": " + tc.want
			}
			if !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
				t.Fatalf("error\n  %s\nwant one line containing\n  %s\nfile:\n%s", msg, want, tc.yaml)
			}
		})
	}
	if _, _, err := loadFile(t, "id: 1\nsingle-node: true\n"); err == nil || !strings.Contains(err.Error(), "config: listen: missing") {
		t.Errorf("a file without listen: %v", err)
	}
}

// TestConfigFileValueOverriddenByFlag: an error about a value that a flag
// gave names the flag's setting, never the file's line of the value it
// overrode.
func TestConfigFileValueOverriddenByFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, []byte(yamlWith("heartbeat: 10ms")), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addConfigFlags(fs)
	if err := fs.Parse([]string{"--config", path, "--heartbeat", "soon"}); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(fs)
	if err == nil || err.Error() != `config: heartbeat: "soon" is not a duration (like 50ms or 1s)` {
		t.Fatalf("err = %v", err)
	}
}

// TestRunRefusesBadConfigFile runs the real binary on a few bad files:
// each exits 1 at once, printing one line that names file, line and
// setting, and starts nothing.
func TestRunRefusesBadConfigFile(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":  {yamlWith("heartbaet: 50ms"), "line 8: heartbaet: unknown setting"},
		"bad duration": {yamlWith("lease: 1 second"), `line 8: lease: "1 second" is not a duration`},
		"id a list":    {yamlWith("id: [1]"), "line 2: id: want a single value, not a list"},
		"yaml syntax":  {yamlWith("peers: [2=127.0.0.1:7002"), "yaml: line"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "node.yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(tc.yaml, "/tmp/synod-config-test", filepath.Join(dir, "data"), 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(synodBin, "run", "--config", path)
			cmd.Env = localproc.EnvWithoutSynod()
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("synod run: %v, want exit status 1; output:\n%s", err, out)
			}
			text := strings.TrimSuffix(string(out), "\n")
			if strings.Count(text, "\n") != 0 || !strings.HasPrefix(text, "synod: config file "+path+": ") || !strings.Contains(text, tc.want) {
				t.Fatalf("output\n%s\nwant one line: synod: config file %s: ...%s", out, path, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data dir was created (%v): the node got as far as starting", err)
			}
		})
	}
}

// TestCheckWarnsOfALeaseLongerThanTheElectionTimeout: the rule the start
// does not enforce (docs/operations.md, "The rules") is at least said, by
// --check as by the worker's log; the defaults draw no warning.
func TestCheckWarnsOfALeaseLongerThanTheElectionTimeout(t *testing.T) {
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--lease", "1s"}, "warning   lease (1s) exceeds election timeout (300ms)"},
		{nil, ""},
	} {
		var out bytes.Buffer
		root := rootCommand()
		root.SetOut(&out)
		root.SetArgs(append([]string{"run", "--check", "--id", "1", "--member", "1=127.0.0.1:7801", "--member", "2=127.0.0.1:7802",
			"--data-dir", t.TempDir()}, tc.extra...))
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.extra, err)
		}
		got := out.String()
		if tc.want == "" && strings.Contains(got, "warning") || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%v: --check printed\n%s\nwant %q", tc.extra, got, tc.want)
		}
	}
}
