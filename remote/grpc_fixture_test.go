package remote_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/synod/synod/remote"
)

// The fixture of the gRPC transport tests: nodes on loopback listeners,
// each with its frames, peer events and log lines on channels the test
// awaits; and a throwaway certificate authority.

// grpcNode is one started GRPCTransport.
type grpcNode struct {
	id     remote.NodeID
	tr     *remote.GRPCTransport
	in     chan arrival
	events chan remote.PeerEvent
	logs   *logWatch
}

// grpcCluster holds nodes that the cleanup closes before checking for
// leaked goroutines.
type grpcCluster struct {
	t     *testing.T
	addrs map[remote.NodeID]string
	lis   map[remote.NodeID]net.Listener
	nodes []*grpcNode
}

// newGRPCCluster binds a loopback listener for each id, so that every
// node's address is known before any transport is built. Nothing runs yet;
// start starts a node.
func newGRPCCluster(t *testing.T, ids ...remote.NodeID) *grpcCluster {
	t.Helper()
	c := &grpcCluster{t: t, addrs: map[remote.NodeID]string{}, lis: map[remote.NodeID]net.Listener{}}
	t.Cleanup(c.shutdown)
	for _, id := range ids {
		c.listen(id)
	}
	return c
}

// listen binds a fresh listener for id, on its old address if it had one.
func (c *grpcCluster) listen(id remote.NodeID) {
	c.t.Helper()
	addr := c.addrs[id]
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatalf("node %d: listen: %v", id, err)
	}
	c.addrs[id], c.lis[id] = lis.Addr().String(), lis
}

// config returns id's configuration: the test cluster, every other bound
// node as a peer, and small backoffs so that reconnects are quick.
func (c *grpcCluster) config(id remote.NodeID) remote.GRPCConfig {
	peers := map[remote.NodeID]string{}
	for p, addr := range c.addrs {
		if p != id {
			peers[p] = addr
		}
	}
	return remote.GRPCConfig{
		Self:         id,
		Cluster:      clusterName,
		Listener:     c.lis[id],
		Peers:        peers,
		ReconnectMin: 5 * time.Millisecond,
		ReconnectMax: 100 * time.Millisecond,
	}
}

// start builds and starts a transport from cfg, with its frames, events
// and logs captured.
func (c *grpcCluster) start(cfg remote.GRPCConfig) *grpcNode {
	c.t.Helper()
	n := &grpcNode{
		id:     cfg.Self,
		in:     make(chan arrival, 4096),
		events: make(chan remote.PeerEvent, 64),
		logs:   newLogWatch(),
	}
	cfg.Logger = zerolog.New(n.logs)
	tr, err := remote.NewGRPCTransport(cfg)
	if err != nil {
		c.t.Fatalf("node %d: %v", cfg.Self, err)
	}
	n.tr = tr
	c.nodes = append(c.nodes, n)
	t := c.t
	tr.NotifyPeers(func(ev remote.PeerEvent) {
		select {
		case n.events <- ev:
		default:
			t.Errorf("node %d: event channel full", n.id)
		}
	})
	err = tr.Start(func(from remote.NodeID, frame []byte) {
		select {
		case n.in <- arrival{from: from, frame: frame, at: time.Now()}:
		default:
			t.Errorf("node %d: arrival channel full", n.id)
		}
	})
	if err != nil {
		c.t.Fatalf("node %d: start: %v", cfg.Self, err)
	}
	return n
}

func (c *grpcCluster) shutdown() {
	if c.t.Failed() {
		// What each node logged is the first thing to read when a test of
		// connection timing fails.
		for _, n := range c.nodes {
			n.logs.dump(c.t, n.id)
		}
	}
	for _, n := range c.nodes {
		if err := n.tr.Close(); err != nil {
			c.t.Errorf("node %d: close: %v", n.id, err)
		}
	}
	for _, lis := range c.lis {
		lis.Close() // those no transport took
	}
	goleak.VerifyNone(c.t)
}

// awaitEvent waits for the next peer event and checks it.
func (n *grpcNode) awaitEvent(t *testing.T, want remote.PeerEvent) {
	t.Helper()
	select {
	case ev := <-n.events:
		if ev != want {
			t.Fatalf("node %d: peer event %+v, want %+v", n.id, ev, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("node %d: timed out waiting for peer event %+v", n.id, want)
	}
}

// logWatch collects zerolog lines and wakes whoever awaits one.
type logWatch struct {
	mu    sync.Mutex
	lines []map[string]any
	at    []time.Time   // when each line was written
	wake  chan struct{} // closed and replaced on every line
}

func newLogWatch() *logWatch { return &logWatch{wake: make(chan struct{})} }

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			line = map[string]any{"unparsed": sc.Text()}
		}
		w.lines = append(w.lines, line)
		w.at = append(w.at, time.Now())
	}
	close(w.wake)
	w.wake = make(chan struct{})
	return len(p), nil
}

// when returns when line, one that await or awaitLine returned, was
// written.
func (w *logWatch) when(line map[string]any) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, l := range w.lines {
		if reflect.ValueOf(l).UnsafePointer() == reflect.ValueOf(line).UnsafePointer() {
			return w.at[i]
		}
	}
	panic("when: a line this watch did not collect")
}

// dump writes every line collected to the test's log.
func (w *logWatch) dump(t *testing.T, id remote.NodeID) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, l := range w.lines {
		b, _ := json.Marshal(l)
		t.Logf("%s node %d: %s", w.at[i].Format("15:04:05.000"), id, b)
	}
}

// await waits for a line with the given event and reason ("" matches any
// reason) and returns it.
func (w *logWatch) await(t *testing.T, event, reason string) map[string]any {
	t.Helper()
	return w.awaitLine(t, "event "+event+", reason "+reason, func(l map[string]any) bool {
		return l["event"] == event && (reason == "" || l["reason"] == reason)
	})
}

// awaitLine waits for a line that match accepts and returns it.
func (w *logWatch) awaitLine(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for seen := 0; ; {
		w.mu.Lock()
		for ; seen < len(w.lines); seen++ {
			if l := w.lines[seen]; match(l) {
				w.mu.Unlock()
				return l
			}
		}
		wake := w.wake
		w.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("timed out waiting for a log line with %s", what)
		}
	}
}

// testCA is a throwaway certificate authority: ECDSA P-256, in memory.
type testCA struct {
	t    *testing.T
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

var serial = struct {
	sync.Mutex
	n int64
}{}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(serial.n)
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{t: t, cert: cert, key: key, pool: pool, pem: pemBlock("CERTIFICATE", der)}
}

// issue returns a certificate for node id on 127.0.0.1, naming the node by
// NodeURI; nodeURI false leaves the URI out, so only the host identifies it.
func (ca *testCA) issue(id remote.NodeID, nodeURI bool) (tls.Certificate, []byte, []byte) {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: "node-" + id.String()},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if nodeURI {
		tmpl.URIs = []*url.URL{remote.NodeURI(id)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	certPEM, keyPEM := pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		ca.t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// mtls returns the mutual-TLS configuration of node id under this CA.
func (ca *testCA) mtls(id remote.NodeID) *tls.Config {
	cert, _, _ := ca.issue(id, true)
	return remote.MutualTLS(cert, ca.pool)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
