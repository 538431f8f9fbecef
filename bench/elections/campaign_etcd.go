package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// etcdActKey is the key a leader writes as its first act.
const etcdActKey = "/bench-act"

// campaignEtcd is the hidden campaign-etcd subcommand: one campaigner of
// etcd's election, as its documentation shows it (a Session, an Election
// on a prefix, Campaign). It writes the lines campaigners.go describes on
// stdout. On SIGTERM a leader resigns, a follower withdraws, and both
// close their session (revoking its lease) before exiting 0.
func campaignEtcd(args []string) error {
	fs := flag.NewFlagSet("campaign-etcd", flag.ContinueOnError)
	id := fs.String("id", "", "this campaigner's name (its value in the election)")
	endpoints := fs.String("endpoints", "", "etcd client URLs, comma-separated")
	prefix := fs.String("prefix", etcdPrefix, "the election's key prefix")
	ttl := fs.Int("ttl", 0, "session TTL in seconds (0: the library's default, 60)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *endpoints == "" {
		return errors.New("--id and --endpoints are required")
	}
	logCfg := zap.NewProductionConfig()
	logCfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	logCfg.OutputPaths, logCfg.ErrorOutputPaths = []string{"stderr"}, []string{"stderr"}
	logger, err := logCfg.Build()
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second, Logger: logger})
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cli.Close()

	var opts []concurrency.SessionOption
	if *ttl > 0 {
		opts = append(opts, concurrency.WithTTL(*ttl))
	}
	// The members may still be forming a cluster: the grant waits for
	// them (the driver gives up on a campaigner that never queues).
	sess, err := concurrency.NewSession(cli, opts...)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	granted := ""
	if lease, err := cli.TimeToLive(context.Background(), sess.Lease()); err == nil {
		granted = fmt.Sprintf(" session_ms=%d", lease.GrantedTTL*1000)
	}
	e := concurrency.NewElection(sess, *prefix)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	won := make(chan error, 1)
	go func() { won <- e.Campaign(ctx, *id) }()
	go func() {
		// Campaign puts our key, then waits for the keys before it to go:
		// once the key is there we are in the queue.
		key := fmt.Sprintf("%s/%x", *prefix, sess.Lease())
		for ctx.Err() == nil {
			if resp, err := cli.Get(ctx, key); err == nil && resp.Count > 0 {
				emit(evQueued, *id, granted)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	leading := false
	for {
		select {
		case err := <-won:
			if err != nil {
				emit(evLost, *id, "campaign: "+err.Error())
				return fmt.Errorf("campaign: %w", err)
			}
			emit(evLeader, *id, "")
			// The first act: a write that only succeeds while our key is
			// the leader's, the fencing etcd's election documents.
			resp, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(e.Key()), "=", e.Rev())).
				Then(clientv3.OpPut(etcdActKey, *id)).Commit()
			switch {
			case err != nil:
				emit(evLost, *id, "first act: "+err.Error())
				return fmt.Errorf("first act: %w", err)
			case !resp.Succeeded:
				emit(evLost, *id, "first act: no longer the leader")
				return errors.New("first act: no longer the leader")
			}
			emit(evActed, *id, "")
			leading = true
		case <-sess.Done():
			emit(evLost, *id, "session ended")
			return errors.New("session ended")
		case <-sig:
			stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
			if leading {
				if err := e.Resign(stopCtx); err != nil {
					fmt.Fprintln(os.Stderr, "resign:", err)
				}
			}
			cancel() // a campaign still waiting withdraws its key
			if err := sess.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "close session:", err)
			}
			stopCancel()
			emit(evResigned, *id, "")
			return nil
		}
	}
}

// emit writes one campaigner line on stdout, in one write.
func emit(kind, id, detail string) {
	line := kind + " " + id
	if detail = strings.TrimSpace(detail); detail != "" {
		line += " " + detail
	}
	_, _ = os.Stdout.WriteString(line + "\n")
}
