package remote_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/synod/synod/remote"
)

// tlsConfig is id's configuration in c, secured by ca.
func tlsConfig(c *grpcCluster, ca *testCA, id remote.NodeID) remote.GRPCConfig {
	cfg := c.config(id)
	cfg.TLS = ca.mtls(id)
	return cfg
}

func TestGRPCMutualTLSExchange(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	c := newGRPCCluster(t, 1, 2)
	n1, n2 := c.start(tlsConfig(c, ca, 1)), c.start(tlsConfig(c, ca, 2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n2.awaitEvent(t, remote.PeerEvent{Peer: 1, Up: true})
	for i := range uint64(10) {
		n1.tr.Send(2, seq(i))
		n2.tr.Send(1, seq(i))
	}
	awaitSeqs(t, n2, 1, 10)
	awaitSeqs(t, n1, 2, 10)
	if s := n1.tr.Stats(); s.HandshakesRejected != 0 {
		t.Errorf("node 1 stats %+v", s)
	}
}

// Certificates that name no node identify it by host; both nodes are on
// 127.0.0.1, and each certificate is valid for it.
func TestGRPCMutualTLSByHost(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	c := newGRPCCluster(t, 1, 2)
	cfg := func(id remote.NodeID) remote.GRPCConfig {
		cert, _, _ := ca.issue(id, false)
		cfg := c.config(id)
		cfg.TLS = remote.MutualTLS(cert, ca.pool)
		return cfg
	}
	n1, _ := c.start(cfg(1)), c.start(cfg(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
}

// A node whose certificate comes from another CA is refused in the TLS
// handshake, and the refusal is counted and logged.
func TestGRPCRefusesCertificateFromAnotherCA(t *testing.T) {
	ca, other := newTestCA(t, "cluster CA"), newTestCA(t, "another CA")
	c := newGRPCCluster(t, 1, 2)
	n1 := c.start(tlsConfig(c, ca, 1))
	// The impostor trusts the cluster CA, so that it is the server that
	// refuses it, not it that refuses the server.
	cert, _, _ := other.issue(2, true)
	cfg := c.config(2)
	cfg.TLS = remote.MutualTLS(cert, ca.pool)
	c.start(cfg)

	line := n1.logs.await(t, "handshake_rejected", "tls_handshake")
	if line["side"] != "server" || line["remote"] == nil {
		t.Errorf("log line %v", line)
	}
	s := n1.tr.Stats()
	if s.HandshakesRejected == 0 || s.FramesReceived != 0 || s.Peers[2].Up {
		t.Errorf("node 1 stats %+v", s)
	}
}

// A node that presents a good certificate of another node is refused by
// both checks: the server's, of the client's claim, and the client's, of
// the server's answer.
func TestGRPCRefusesCertificateOfAnotherNode(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	c := newGRPCCluster(t, 1, 2, 3)
	n1 := c.start(tlsConfig(c, ca, 1))
	cfg := c.config(3)
	cfg.TLS = ca.mtls(2) // node 3 with node 2's certificate
	c.start(cfg)

	for _, side := range []string{"server", "client"} {
		n1.logs.awaitLine(t, "identity_mismatch on the "+side+" side", func(l map[string]any) bool {
			return l["event"] == "handshake_rejected" && l["reason"] == "identity_mismatch" &&
				l["side"] == side && l["peer"] == float64(3)
		})
	}
	if p := n1.tr.Stats().Peers[3]; p.HandshakesRejected < 2 || p.Up {
		t.Errorf("node 1 stats for peer 3: %+v", p)
	}
}

func TestLoadTLS(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	_, certPEM, keyPEM := ca.issue(1, true)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certFile, keyFile, caFile := write("node.crt", certPEM), write("node.key", keyPEM), write("ca.crt", ca.pem)

	cfg, err := remote.LoadTLS(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.MinVersion != tls.VersionTLS13 ||
		cfg.ClientCAs == nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 {
		t.Errorf("config %+v", cfg)
	}
	for name, args := range map[string][3]string{
		"missing key": {certFile, filepath.Join(dir, "absent"), caFile},
		"missing CA":  {certFile, keyFile, filepath.Join(dir, "absent")},
		"CA not PEM":  {certFile, keyFile, write("junk", []byte("not a certificate"))},
	} {
		if _, err := remote.LoadTLS(args[0], args[1], args[2]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
