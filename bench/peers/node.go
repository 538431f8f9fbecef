package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// verifyCap bounds how long POST /verify waits for VerifyLeader. A leader
// cut off from its quorum holds the future until it steps down (up to its
// lease timeout); the driver would rather hear "not yet" and poll again.
const verifyCap = time.Second

// nodeState is the body of GET /state.
type nodeState struct {
	ID     string `json:"id"`
	State  string `json:"state"` // raft.RaftState: Follower, Candidate, Leader, Shutdown
	Leader string `json:"leader"`
	Term   uint64 `json:"term"`
}

// runNode is the hidden `node` subcommand the failover driver starts once
// per cluster member: one raft node on raft-boltdb in --dir, raft's TCP
// transport on its --peers address, and a control endpoint on --http:
//
//	GET  /state   nodeState as JSON
//	POST /verify  VerifyLeader(); 200 if it succeeds, 409 with the error if not
//
// SIGTERM (or SIGINT) shuts down the way a careful raft user does: a
// leader first hands off with LeadershipTransfer(), then every node calls
// Shutdown() and closes its store before exiting 0.
func runNode(args []string) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	id := fs.String("id", "", "this node's raft server id, one of --peers")
	dir := fs.String("dir", "", "data directory (raft.db, snapshots, raft.log)")
	peers := fs.String("peers", "", "all members as id=host:port,… (raft TCP addresses)")
	httpAddr := fs.String("http", "", "control endpoint host:port")
	profile := fs.String("profile", profileDefault, "raft timings: default or matched")
	if err := fs.Parse(args); err != nil {
		return err
	}
	members, err := parsePeers(*peers)
	if err != nil {
		return err
	}
	var self string
	for _, m := range members {
		if string(m.ID) == *id {
			self = string(m.Address)
		}
	}
	switch {
	case self == "":
		return fmt.Errorf("peers: node: --id %q is not among --peers %q", *id, *peers)
	case *dir == "" || *httpAddr == "":
		return errors.New("peers: node: --dir and --http are required")
	}

	logFile, err := os.OpenFile(filepath.Join(*dir, "raft.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("peers: node: open log: %w", err)
	}
	defer logFile.Close()
	logger := hclog.New(&hclog.LoggerOptions{Name: *id, Output: logFile, Level: hclog.Info})

	trans, err := newTCPTransport(self, logger)
	if err != nil {
		return err
	}
	spec := nodeSpec{Profile: *profile, Store: storeBolt, Dir: *dir, Members: members, Logger: logger}
	n, err := startRaft(spec, raft.ServerID(*id), trans)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return errors.Join(fmt.Errorf("peers: node: control endpoint: %w", err), n.Shutdown())
	}
	srv := &http.Server{Handler: controlHandler(n.Raft), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	logger.Info("graceful shutdown", "state", n.Raft.State().String())
	if n.Raft.State() == raft.Leader {
		if err := n.Raft.LeadershipTransfer().Error(); err != nil {
			logger.Warn("leadership transfer before shutdown failed", "error", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return n.Shutdown()
}

// controlHandler serves GET /state and POST /verify for r.
func controlHandler(r *raft.Raft) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		_, leader := r.LeaderWithID()
		s := nodeState{State: r.State().String(), Leader: string(leader), Term: r.CurrentTerm()}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, _ *http.Request) {
		done := make(chan error, 1)
		f := r.VerifyLeader()
		go func() { done <- f.Error() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(verifyCap):
			err = fmt.Errorf("VerifyLeader still pending after %v", verifyCap)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// parsePeers reads "id=host:port,…" into raft voters.
func parsePeers(s string) ([]raft.Server, error) {
	var out []raft.Server
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("peers: bad --peers entry %q (want id=host:port)", part)
		}
		out = append(out, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(addr)})
	}
	return out, nil
}

// formatPeers is the inverse of parsePeers.
func formatPeers(members []raft.Server) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = fmt.Sprintf("%s=%s", m.ID, m.Address)
	}
	return strings.Join(parts, ",")
}
