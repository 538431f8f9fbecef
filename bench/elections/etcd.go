package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/synod/synod/bench/harness/driver"
	"github.com/synod/synod/bench/harness/result"
)

// etcdBin is the etcd server, from Debian's etcd-server.
const etcdBin = "etcd"

// etcdClientVersion is the go.etcd.io/etcd/client/v3 this module
// requires (go.mod), the client the campaigners use.
const etcdClientVersion = "v3.5.36"

// etcdPrefix is the election's key prefix.
const etcdPrefix = "/bench-election"

// etcdSystem is etcd's election: three etcd members with their defaults
// (heartbeat 100 ms, election timeout 1 s), and campaigners using
// go.etcd.io/etcd/client/v3/concurrency (NewSession, NewElection,
// Campaign; Resign and Close on SIGTERM).
func etcdSystem() *system {
	return &system{
		name: result.Etcd,
		check: func() error {
			if _, err := exec.LookPath(etcdBin); err != nil {
				return fmt.Errorf("no etcd server on PATH (Debian: apt-get install etcd-server; bench/elections/install.sh does it): %w", err)
			}
			return nil
		},
		versions: func() map[string]string {
			v := map[string]string{"etcd client": etcdClientVersion}
			if out, err := exec.Command(etcdBin, "--version").Output(); err == nil {
				line, _, _ := strings.Cut(string(out), "\n")
				v["etcd"] = strings.TrimSpace(strings.TrimPrefix(line, "etcd Version:"))
			}
			if d := debianVersion("etcd-server"); d != "" {
				v["etcd"] = d + " (Debian)"
			}
			return v
		},
		prepare: func(context.Context, string) error { return nil },
		start:   startEtcd,
		note: func(p profile) string {
			ttl := "concurrency.NewSession's default TTL (60 s)"
			if p.session != 0 {
				ttl = fmt.Sprintf("session TTL %v", p.session)
			}
			return "etcd, 3 members with default timings (heartbeat 100 ms, election 1 s), client " + etcdClientVersion +
				"; " + ttl + "; crash: the leading campaigner's process SIGKILLed, its lease must expire; " +
				"graceful: SIGTERM, the campaigner calls Resign and closes its session; " +
				"first act: a Put in a Txn guarded by the leader key's create revision"
		},
	}
}

// etcdEnsemble is three etcd members on loopback.
type etcdEnsemble struct {
	self      string // this executable, which is also the campaigner
	endpoints string // the client URLs, comma-separated
	ttl       time.Duration
	members   []*driver.Proc
}

func startEtcd(ctx context.Context, dir, logDir string, p profile) (ensemble, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2 * ensembleSize)
	if err != nil {
		return nil, err
	}
	var cluster, clients []string
	for i := range ensembleSize {
		cluster = append(cluster, fmt.Sprintf("m%d=http://127.0.0.1:%d", i+1, ports[2*i+1]))
		clients = append(clients, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]))
	}
	e := &etcdEnsemble{self: self, endpoints: strings.Join(clients, ","), ttl: p.session}
	token := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	for i := range ensembleSize {
		name := fmt.Sprintf("m%d", i+1)
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		args := []string{"--name", name, "--data-dir", filepath.Join(dir, name),
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(cluster, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", token, "--logger", "zap", "--log-outputs", "stderr"}
		m, err := children.Start("etcd "+name, etcdBin, args, filepath.Join(logDir, "etcd-"+name+".log"), nil)
		if err != nil {
			e.close()
			return nil, err
		}
		e.members = append(e.members, m)
	}
	return e, nil
}

func (e *etcdEnsemble) campaigner(id string) (string, []string) {
	return e.self, []string{"campaign-etcd", "--id", id, "--endpoints", e.endpoints,
		"--prefix", etcdPrefix, "--ttl", strconv.Itoa(int(e.ttl / time.Second))}
}

func (e *etcdEnsemble) close() {
	for _, m := range e.members {
		m.Stop(10 * time.Second)
	}
}

// freePorts returns n loopback ports that were free a moment ago (all held
// open together, so they differ).
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// debianVersion is the installed version of a Debian package, or "".
func debianVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
