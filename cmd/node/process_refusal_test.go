package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/remote"

	"github.com/synod/synod/internal/localproc"
)

// argAfter returns the value that follows flag in args, or "".
func argAfter(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// addNode starts "synod run" as node id of cluster, with every member of c
// as its peer, on fresh ports and a fresh data directory, plus extra
// flags. The members do not list it: it is an outsider trying to talk to
// them. c's cleanup stops it.
func (c *procCluster) addNode(id int, cluster string, extra ...string) *procNode {
	c.t.Helper()
	ports, err := localproc.FreePorts(2)
	if err != nil {
		c.t.Fatal(err)
	}
	dataDir := filepath.Join(c.t.TempDir(), fmt.Sprintf("node%d", id))
	args := []string{"run", "--cluster", cluster, "--id", strconv.Itoa(id), "--listen", ports[0], "--admin", ports[1],
		"--data-dir", dataDir}
	for _, m := range c.nodes {
		args = append(args, "--peer", fmt.Sprintf("%d=%s", m.id, argAfter(m.args, "--listen")))
	}
	n := &procNode{id: id, admin: ports[1], dataDir: dataDir, args: append(args, extra...)}
	c.extra = append(c.extra, n)
	c.start(n)
	return n
}

// output returns everything n's processes wrote so far.
func (n *procNode) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.out.String()
}

// awaitRejection waits until a member of c logs a handshake_rejected event
// with reason, and returns that line.
func (c *procCluster) awaitRejection(reason string) string {
	c.t.Helper()
	var line string
	c.await("handshake_rejected with reason "+reason, procDeadline, func() bool {
		for _, n := range c.nodes {
			for l := range strings.Lines(n.output()) {
				if strings.Contains(l, `"event":"handshake_rejected"`) && strings.Contains(l, `"reason":"`+reason+`"`) {
					line = l
					return true
				}
			}
		}
		return false
	})
	return line
}

// checkUndisturbed asserts that every member still answers with leader
// in term.
func (c *procCluster) checkUndisturbed(leader *procNode, term uint64) {
	c.t.Helper()
	st, ok := c.statuses()
	for i, s := range st {
		if !ok[i] || int(s.Leader) != leader.id || s.Term != term {
			c.t.Errorf("node %d: answered %v, leader %d in term %d; want leader %d in term %d",
				c.nodes[i].id, ok[i], s.Leader, s.Term, leader.id, term)
		}
	}
}

// checkNeverJoined asserts that outsider n knows no leader: no member
// ever talked to it.
func (c *procCluster) checkNeverJoined(n *procNode) {
	c.t.Helper()
	var s status
	c.await(fmt.Sprintf("node %d's /status", n.id), procDeadline, func() bool {
		var err error
		s, err = c.status(n)
		return err == nil
	})
	if s.Leader != 0 || s.IsLeader || s.Term != 0 {
		c.t.Errorf("outsider node %d sees leader %d in term %d (is_leader %v), want none", n.id, s.Leader, s.Term, s.IsLeader)
	}
}

// TestProcessWrongClusterRefused: a node of cluster "other" dials the
// members of cluster "pt"; they refuse its handshake as wrong_cluster, and
// their leader is undisturbed.
func TestProcessWrongClusterRefused(t *testing.T) {
	c := newRunCluster(t, 3)
	leader, term := c.awaitLeader(0, 0)
	outsider := c.addNode(4, "other")
	line := c.awaitRejection("wrong_cluster")
	if !strings.Contains(line, "other") {
		t.Errorf("rejection does not name the cluster: %s", line)
	}
	c.checkNeverJoined(outsider)
	c.checkUndisturbed(leader, term)
}

// testCA is a throwaway ECDSA P-256 certificate authority that writes PEM
// files for nodes on 127.0.0.1.
type testCA struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate, PEM
}

var certSerial int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certSerial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(certSerial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, dir: t.TempDir(), cert: cert, key: key}
	ca.file = ca.write("ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, typ string, der []byte) string {
	ca.t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// tlsFlags issues a certificate for node id (127.0.0.1, NodeURI(id)) and
// returns the flags that make a node use it with this CA.
func (ca *testCA) tlsFlags(id int) []string {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	certSerial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(certSerial), Subject: pkix.Name{CommonName: fmt.Sprintf("node-%d", id)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		URIs:        []*url.URL{remote.NodeURI(remote.NodeID(id))},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return []string{
		"--tls-cert", ca.write(fmt.Sprintf("node%d.pem", id), "CERTIFICATE", der),
		"--tls-key", ca.write(fmt.Sprintf("node%d.key", id), "EC PRIVATE KEY", keyDER),
		"--tls-ca", ca.file,
	}
}

// TestProcessForeignCARefused: three nodes elect a leader over mutual TLS;
// a fourth whose certificate (and trust) comes from another CA fails the
// TLS handshake with them, which they log as tls_handshake; it never
// joins, and their leader is undisturbed.
func TestProcessForeignCARefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a multi-process cluster")
	}
	ca := newTestCA(t, "cluster CA")
	c := newProcCluster(t, 3, []string{"run"}, ca.tlsFlags)
	leader, term := c.awaitLeader(0, 0)
	other := newTestCA(t, "another CA")
	outsider := c.addNode(4, "pt", other.tlsFlags(4)...)
	c.awaitRejection("tls_handshake")
	c.checkNeverJoined(outsider)
	c.checkUndisturbed(leader, term)
}

// confirm POSTs /confirm to n; it waits out the endpoint's own bound.
func confirm(t *testing.T, n *procNode) (int, confirmBody) {
	t.Helper()
	client := &http.Client{Timeout: confirmTimeout + 2*time.Second}
	resp, err := client.Post("http://"+n.admin+"/confirm", "", nil)
	if err != nil {
		t.Fatalf("POST /confirm to node %d: %v", n.id, err)
	}
	defer resp.Body.Close()
	var b confirmBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("POST /confirm to node %d: %v", n.id, err)
	}
	return resp.StatusCode, b
}

// TestProcessConfirmWithoutMajority: with leases off (fast-failover),
// Confirm asks a quorum. The leader confirms (200); with both followers
// stopped it fails with ErrNoQuorum (503); once they are back, a leader
// confirms again.
func TestProcessConfirmWithoutMajority(t *testing.T) {
	c := newProcCluster(t, 3, []string{"run"}, func(int) []string { return []string{"--preset", "fast-failover"} })
	leader, term := c.awaitLeader(0, 0)
	if code, b := confirm(t, leader); code != http.StatusOK || !b.OK || uint64(b.Term) != term {
		t.Fatalf("leader confirms: %d %+v, want 200 in term %d", code, b, term)
	}

	var followers []*procNode
	for _, n := range c.nodes {
		if n != leader {
			followers = append(followers, n)
			c.signal(n, syscall.SIGTERM)
		}
	}
	for _, n := range followers {
		if err := c.awaitExit(n, procDeadline); err != nil {
			t.Fatalf("node %d exited with %v after SIGTERM", n.id, err)
		}
	}
	// Without leases a leader leads while a majority acknowledged it
	// within an election timeout, and steps down when that lapses. Having
	// lost its majority and heard of no leader since, it answers
	// ErrNoQuorum (503), whether the step-down or its own round's timeout
	// comes first. Never 200.
	code, b := confirm(t, leader)
	if code != http.StatusServiceUnavailable || b.OK || !strings.Contains(b.Error, "quorum") {
		t.Fatalf("leader without a majority: %d %+v, want 503 (no quorum)", code, b)
	}
	t.Logf("leader without a majority: %d %q", code, b.Error)

	for _, n := range followers {
		c.start(n)
	}
	c.await("a leader that confirms", procDeadline, func() bool {
		st, ok := c.statuses()
		for i, s := range st {
			if ok[i] && s.IsLeader {
				code, _ := confirm(t, c.nodes[i])
				return code == http.StatusOK
			}
		}
		return false
	})
}
