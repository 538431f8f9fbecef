package remote

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"google.golang.org/grpc/metadata"
)

// The handshake is gRPC metadata. The dialer sends it as the stream's
// request headers; the server checks it before it reads a single frame,
// and answers with its own handshake in the response headers, which the
// dialer checks in turn. A refusal ends the stream with a status, never
// with a frame.
const (
	mdVersion = "synod-version"
	// The cluster id travels in a -bin key (base64 on the wire) so that it
	// may hold any bytes, as Frame.Cluster may.
	mdCluster = "synod-cluster-bin"
	mdNode    = "synod-node"
	// mdIncarnation is the sender's Incarnation. Builds before it existed
	// do not send it, and ignore it (they read only the keys above), so it
	// was added without a new version: a version "2" would be refused by
	// every older node, and a rolling upgrade would cut the upgraded nodes
	// off from the others. A handshake without it is of the zero
	// Incarnation, older than any other.
	mdIncarnation = "synod-incarnation"

	handshakeVersion = "1"
	// maxClusterLen bounds the cluster id a handshake may carry.
	maxClusterLen = 255
)

// Reasons a handshake is refused, as logged in the reason field of
// handshake_rejected and sent back in the refusal's status message.
const (
	rejectMalformed        = "malformed"
	rejectVersion          = "version"
	rejectIdentityMismatch = "identity_mismatch"
	rejectNoCertificate    = "no_certificate"
	rejectTLSHandshake     = "tls_handshake"
	rejectUnexpectedNode   = "unexpected_node"
	// rejectSuperseded: a process of the node whose incarnation is older
	// than one already admitted (see Incarnation).
	rejectSuperseded = "superseded"
	// rejectWrongCluster and rejectUnknownNode are shared with the
	// Endpoint's frame checks (endpoint_receive.go).
)

// handshake is what each end of a stream says about itself.
type handshake struct {
	Cluster     string
	Node        NodeID
	Incarnation Incarnation // zero from builds that do not send one
}

// metadata encodes h as gRPC metadata.
func (h handshake) metadata() metadata.MD {
	md := metadata.Pairs(mdVersion, handshakeVersion, mdCluster, h.Cluster, mdNode, h.Node.String())
	if !h.Incarnation.IsZero() {
		md.Set(mdIncarnation, h.Incarnation.wire())
	}
	return md
}

// handshakeError is a refused handshake: reason is one of the reject
// constants, detail says more for the log.
type handshakeError struct {
	reason, detail string
}

func (e *handshakeError) Error() string {
	return "remote: grpc handshake: " + e.reason + ": " + e.detail
}

// reasonOf returns the reason of a handshakeError inside err, or fallback.
func reasonOf(err error, fallback string) string {
	var he *handshakeError
	if errors.As(err, &he) {
		return he.reason
	}
	return fallback
}

// parseHandshake reads the handshake from the metadata a peer sent. It
// checks only the form: exactly one value per key, the version this
// build speaks, a non-empty cluster id of at most maxClusterLen bytes, a
// node id in canonical decimal, not zero, and at most one incarnation, in
// its canonical form (none is the zero Incarnation). Whether that cluster and node
// are welcome is the caller's decision. It never panics, whatever md
// holds, and is safe to call concurrently.
func parseHandshake(md metadata.MD) (handshake, error) {
	one := func(key string) (string, error) {
		vs := md.Get(key)
		if len(vs) != 1 {
			return "", &handshakeError{rejectMalformed, fmt.Sprintf("%d values for %s, want 1", len(vs), key)}
		}
		return vs[0], nil
	}
	v, err := one(mdVersion)
	if err != nil {
		return handshake{}, err
	}
	if v != handshakeVersion {
		return handshake{}, &handshakeError{rejectVersion, fmt.Sprintf("version %.16q, want %s", v, handshakeVersion)}
	}
	cluster, err := one(mdCluster)
	if err != nil {
		return handshake{}, err
	}
	if cluster == "" || len(cluster) > maxClusterLen {
		return handshake{}, &handshakeError{rejectMalformed, fmt.Sprintf("cluster id of %d bytes", len(cluster))}
	}
	node, err := one(mdNode)
	if err != nil {
		return handshake{}, err
	}
	id, ok := parseNodeID(node)
	if !ok {
		return handshake{}, &handshakeError{rejectMalformed, fmt.Sprintf("node id %.24q", node)}
	}
	h := handshake{Cluster: cluster, Node: id}
	switch incs := md.Get(mdIncarnation); len(incs) {
	case 0:
	case 1:
		if h.Incarnation, ok = parseIncarnation(incs[0]); !ok {
			return handshake{Cluster: cluster, Node: id}, &handshakeError{rejectMalformed, fmt.Sprintf("incarnation %.32q", incs[0])}
		}
	default:
		return handshake{Cluster: cluster, Node: id}, &handshakeError{rejectMalformed, fmt.Sprintf("%d values for %s, want at most 1", len(incs), mdIncarnation)}
	}
	return h, nil
}

// parseNodeID accepts exactly the strings NodeID.String produces for
// non-zero ids: no sign, no leading zeros, no spaces.
func parseNodeID(s string) (NodeID, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return NodeID(n), true
}

// NodeURI returns the URI that names node in a certificate's subject
// alternative names: synod://node/<id>. A node's certificate that carries
// it can be presented for that node only (see GRPCTransport). Safe to call
// concurrently.
func NodeURI(node NodeID) *url.URL {
	return &url.URL{Scheme: "synod", Host: "node", Path: "/" + node.String()}
}

// checkIdentity decides whether cert, already verified against the
// cluster CA, may speak for node, whose configured address is addr.
//
// A certificate that names nodes with NodeURI is good for those nodes
// only. A certificate that names none is good for whichever node's
// configured host it is valid for (its DNS or IP subject alternative
// names), as a browser would check a server; on such certificates, nodes
// that share a host can stand in for each other.
func checkIdentity(cert *x509.Certificate, node NodeID, addr string) error {
	named := false
	for _, u := range cert.URIs {
		if u.Scheme != "synod" || u.Host != "node" {
			continue
		}
		named = true
		if len(u.Path) > 1 {
			if id, ok := parseNodeID(u.Path[1:]); ok && id == node {
				return nil
			}
		}
	}
	if named {
		return &handshakeError{rejectIdentityMismatch, fmt.Sprintf("certificate %q does not name node %d", cert.Subject.CommonName, node)}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return &handshakeError{rejectIdentityMismatch, fmt.Sprintf("node %d has no host in %q", node, addr)}
	}
	if err := cert.VerifyHostname(host); err != nil {
		return &handshakeError{rejectIdentityMismatch, fmt.Sprintf("certificate %q is not valid for node %d at %s", cert.Subject.CommonName, node, host)}
	}
	return nil
}
