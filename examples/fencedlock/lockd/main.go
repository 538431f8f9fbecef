// Command lockd is the fenced lock service as a "synod exec" child: synod
// runs it only while its node leads, with the term in SYNOD_TERM and the
// node id in SYNOD_NODE, and sends SIGTERM when leadership ends.
//
// lockd serves a key-value register over HTTP on -listen. The data lives
// in a fenced store (-store, an HTTP server elsewhere); lockd keeps a
// cache of it for its term:
//
//   - On start it calls the store's POST /begin?term=T, which raises the
//     store's fence to T and returns every entry. From then on no earlier
//     term can write, so the cache stays exact while T is the latest term.
//   - GET /get?key=K reads the cache, THEN asks its node to confirm
//     leadership (POST /confirm on -admin) and answers only if the node
//     confirms lockd's own term. The confirmation proves that no later term
//     had been chosen when it began, after the cache was read: the read
//     takes effect at that instant.
//   - POST /put?key=K&value=V writes to the store with the term
//     (POST /put?term=T&key=K&value=V, refused below the fence) and then
//     updates the cache, under one mutex with the reads of the cache.
//
// Answers: 200 done; 409 refused, with no effect (not the leader, or the
// store holds a later term); 502 a put whose effect is unknown (the store
// did not answer: it may have written); 503 not served (not ready, or the
// confirmation failed), with no effect.
//
// It records its leadership claim in -claims, one JSON line when it
// starts and one when it stops serving (fencedlock.Claim, see claim.go); all
// processes share one host's clock, so the lines of different nodes
// compare.
//
// On SIGTERM it stops taking requests, cancels the calls in flight (a write
// in progress ends with an unknown outcome), records the end of its claim,
// waits for the requests in flight to answer, and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lockd:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "", "address to serve the register API on (host:port)")
	admin := flag.String("admin", "", "this node's synod admin address (host:port), for POST /confirm")
	store := flag.String("store", "", "base URL of the fenced store, such as http://10.0.0.1:7000")
	claims := flag.String("claims", "", "file to append leadership claims to (JSON lines)")
	flag.Parse()
	if *listen == "" || *admin == "" || *store == "" || *claims == "" {
		return errors.New("-listen, -admin, -store and -claims are all required")
	}
	term, err := strconv.ParseUint(os.Getenv("SYNOD_TERM"), 10, 64)
	if err != nil || term == 0 {
		return fmt.Errorf("SYNOD_TERM=%q: want a term above 0 (run me with synod exec)", os.Getenv("SYNOD_TERM"))
	}
	node, err := strconv.ParseUint(os.Getenv("SYNOD_NODE"), 10, 64)
	if err != nil || node == 0 {
		return fmt.Errorf("SYNOD_NODE=%q: want a node id above 0", os.Getenv("SYNOD_NODE"))
	}
	// Catch SIGTERM before anything else, so that one arriving during
	// start-up still ends the claim.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	if err := recordClaim(*claims, node, term, true); err != nil {
		return err
	}
	svc := newService(term, "http://"+*admin, *store)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		_ = recordClaim(*claims, node, term, false)
		return err
	}
	srv := &http.Server{Handler: svc.handler(), ReadHeaderTimeout: 2 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready := make(chan error, 1)
	go func() { ready <- svc.load() }()

	var exitErr error
	select {
	case <-sigs:
	case exitErr = <-ready:
		if exitErr == nil { // loaded: serve until told to stop
			select {
			case <-sigs:
			case exitErr = <-served:
			}
		}
	case exitErr = <-served:
	}
	// The claim ends once stop has returned: stop cancels the write in
	// progress and waits for its handler, and no later one starts (see
	// stop for a write already on its way to the store). A read still in
	// flight may answer after that, but only with a confirmation the node
	// gave while it led, so before it sent SIGTERM: the read took effect
	// inside the claim.
	svc.stop()
	if err := recordClaim(*claims, node, term, false); err != nil && exitErr == nil {
		exitErr = err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if errors.Is(exitErr, http.ErrServerClosed) {
		exitErr = nil
	}
	return exitErr
}
