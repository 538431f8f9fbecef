package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

func TestParseConfig(t *testing.T) {
	base := func() layer {
		return layer{"cluster": {"c"}, "id": {"1"}, "listen": {"127.0.0.1:7001"}, "data-dir": {"/tmp/x"},
			"peer": {"2=127.0.0.1:7002", "3=127.0.0.1:7003"}}
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
		{name: "admin bad", in: with("admin", "7070"), wantErr: "config: admin:"},
		{name: "admin loopback default", in: with("admin", ":7070"), check: func(t *testing.T, c nodeConfig) {
			if c.Admin != "127.0.0.1:7070" {
				t.Errorf("Admin = %q", c.Admin)
			}
		}},
		{name: "one node", in: with("peer"), check: func(t *testing.T, c nodeConfig) {
			if len(c.Peers) != 0 {
				t.Errorf("Peers = %v", c.Peers)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(merge(defaultLayer, tc.in))
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
