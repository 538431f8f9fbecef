package remote

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// LoadTLS builds the mutual-TLS configuration of GRPCConfig.TLS from PEM
// files: this node's certificate chain and private key, and the cluster
// CA. The one configuration serves both ends. As a server the node
// requires a client certificate and verifies it against the CA; as a
// client it presents its certificate and verifies the server's against
// the CA, and against the host it dials. TLS 1.3 is the minimum.
//
// A node's certificate therefore needs the server and client auth
// extended key usages (or none), the node's host as a DNS or IP subject
// alternative name, and, to pin it to one node, NodeURI(id) as a URI
// subject alternative name. Safe to call concurrently.
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("remote: load TLS key pair %s, %s: %w", certFile, keyFile, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("remote: load TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("remote: load TLS CA %s: no PEM certificate in it", caFile)
	}
	return MutualTLS(cert, pool), nil
}

// MutualTLS is LoadTLS for a certificate and CA pool already in memory.
func MutualTLS(cert tls.Certificate, ca *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca,
		RootCAs:      ca,
		MinVersion:   tls.VersionTLS13,
	}
}
