package remote_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

func TestGRPCConfigValidate(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	good := func() remote.GRPCConfig {
		return remote.GRPCConfig{
			Self: 1, Cluster: "c", Listen: "127.0.0.1:7001",
			Peers: map[remote.NodeID]string{2: "127.0.0.1:7002", 3: "localhost:7003", 4: "[::1]:7004"},
		}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*remote.GRPCConfig)
	}{
		{"Self", func(c *remote.GRPCConfig) { c.Self = 0 }},
		{"Cluster", func(c *remote.GRPCConfig) { c.Cluster = "" }},
		{"Cluster", func(c *remote.GRPCConfig) { c.Cluster = strings.Repeat("x", 256) }},
		{"Listen", func(c *remote.GRPCConfig) { c.Listen = "" }},
		{"Listen", func(c *remote.GRPCConfig) { c.Listen = "no-port" }},
		{"Peers", func(c *remote.GRPCConfig) { c.Peers[0] = "127.0.0.1:7000" }},
		{"Peers", func(c *remote.GRPCConfig) { c.Peers[1] = "127.0.0.1:7000" }},
		{"Peers", func(c *remote.GRPCConfig) { c.Peers[2] = "127.0.0.1" }},
		{"Peers", func(c *remote.GRPCConfig) { c.Peers[2] = "localhost:7003" }},
		{"Peers", func(c *remote.GRPCConfig) { c.Peers[2] = "127.0.0.1:7001" }},
		{"QueueSize", func(c *remote.GRPCConfig) { c.QueueSize = -1 }},
		{"MaxFrameSize", func(c *remote.GRPCConfig) { c.MaxFrameSize = -1 }},
		{"ReconnectMin", func(c *remote.GRPCConfig) { c.ReconnectMin = -time.Second }},
		{"ReconnectMax", func(c *remote.GRPCConfig) { c.ReconnectMax = -time.Second }},
		{"ReconnectMax", func(c *remote.GRPCConfig) { c.ReconnectMin = time.Minute }},
		// Plaintext off loopback, on either end.
		{"TLS", func(c *remote.GRPCConfig) { c.Listen = ":7001" }},
		{"TLS", func(c *remote.GRPCConfig) { c.Listen = "10.0.0.1:7001" }},
		{"TLS", func(c *remote.GRPCConfig) { c.Peers[2] = "node-2.example:7002" }},
		// TLS that is not mutual.
		{"TLS", func(c *remote.GRPCConfig) { c.TLS = &tls.Config{} }},
		{"TLS", func(c *remote.GRPCConfig) {
			c.TLS = ca.mtls(1)
			c.TLS.ClientCAs = nil
		}},
		{"TLS", func(c *remote.GRPCConfig) {
			c.TLS = ca.mtls(1)
			c.TLS.Certificates = nil
		}},
		{"Insecure", func(c *remote.GRPCConfig) { c.TLS, c.Insecure = ca.mtls(1), true }},
		{"Incarnation", func(c *remote.GRPCConfig) { c.Incarnation = remote.Incarnation{Start: -1, Nonce: 7} }},
		{"Incarnation", func(c *remote.GRPCConfig) { c.Incarnation = remote.Incarnation{Nonce: 7} }},
	}
	for _, tc := range cases {
		cfg := good()
		tc.edit(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, remote.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("bad %s: err = %v, want ErrInvalidConfig naming %s", tc.field, err, tc.field)
		}
		if _, err := remote.NewGRPCTransport(cfg); !errors.Is(err, remote.ErrInvalidConfig) {
			t.Errorf("NewGRPCTransport with bad %s: err = %v", tc.field, err)
		}
	}

	// Off loopback, TLS or Insecure make it valid.
	for name, edit := range map[string]func(*remote.GRPCConfig){
		"TLS":      func(c *remote.GRPCConfig) { c.TLS = ca.mtls(1) },
		"Insecure": func(c *remote.GRPCConfig) { c.Insecure = true },
	} {
		cfg := good()
		cfg.Listen, cfg.Peers[2] = "10.0.0.1:7001", "node-2.example:7002"
		edit(&cfg)
		if err := cfg.Validate(); err != nil {
			t.Errorf("off loopback with %s: %v", name, err)
		}
	}
}

// Insecure is allowed on loopback too, and still warned about.
func TestGRPCInsecureWarnsAtStart(t *testing.T) {
	c := newGRPCCluster(t, 1)
	cfg := c.config(1)
	cfg.Insecure = true
	n := c.start(cfg)
	if l := n.logs.await(t, "insecure_plaintext", ""); l["level"] != "warn" {
		t.Errorf("log line %v", l)
	}
}
