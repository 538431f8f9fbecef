// Command embed shows synod embedded in an application's own protoactor
// actor systems: three nodes in one process, each with an actor of the
// application's (a job counter) and synod's election actors side by side
// in the same actor system.
//
// The nodes talk over remote.MemNetwork, synod's in-memory transport, which
// runs the same msgpack codec as the network transport. It elects a
// leader, lets the leader's counter do jobs only while it leads (Lead),
// hands leadership to another node (TransferTo), and shuts down cleanly.
//
//	go run ./examples/embed
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// nodes is the cluster size; jobs is how many jobs a leader does per term.
const (
	nodes = 3
	jobs  = 5
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// node is one member: the application's actor system, its own counter
// actor, and the synod Election spawned into the same system.
type node struct {
	id       remote.NodeID
	system   *actor.ActorSystem
	counter  *actor.PID
	election *actors.Election
}

// event is what a Lead callback reports to run.
type event struct {
	node   remote.NodeID
	term   actors.Term
	worked bool // false: started leading; true: finished its jobs
}

// run starts the cluster, elects, transfers once, and closes everything.
// It writes a line per step to out. The nodes' supervision logs are
// discarded: a real node would write them to stderr and its data dir.
func run(ctx context.Context, out io.Writer) (err error) {
	net := remote.NewMemNetwork(1, remote.Faults{})
	var all []*node
	defer func() {
		if cerr := shutdown(all, net); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintln(out, "closed all nodes")
		}
	}()
	for id := remote.NodeID(1); id <= nodes; id++ {
		n, err := startNode(id, net)
		if n != nil {
			all = append(all, n)
		}
		if err != nil {
			return err
		}
	}

	// Every node runs the same Lead loop; only the leader's callback runs.
	leadCtx, stopLeading := context.WithCancel(ctx)
	var loops sync.WaitGroup
	defer func() {
		stopLeading()
		loops.Wait()
	}()
	events := make(chan event, 2*nodes)
	for _, n := range all {
		loops.Go(func() { _ = n.election.Lead(leadCtx, n.leadership(events)) })
	}

	first, err := next(ctx, events, false)
	if err != nil {
		return fmt.Errorf("await a leader: %w", err)
	}
	fmt.Fprintf(out, "node %d leads term %d\n", first.node, first.term)
	if _, err := next(ctx, events, true); err != nil {
		return fmt.Errorf("await node %d's jobs: %w", first.node, err)
	}

	target := first.node%nodes + 1
	if err := all[first.node-1].election.TransferTo(ctx, target); err != nil {
		return fmt.Errorf("transfer from node %d to node %d: %w", first.node, target, err)
	}
	second, err := next(ctx, events, false)
	if err != nil {
		return fmt.Errorf("await node %d to lead: %w", target, err)
	}
	fmt.Fprintf(out, "transferred leadership: node %d (term %d) -> node %d (term %d)\n",
		first.node, first.term, second.node, second.term)
	if _, err := next(ctx, events, true); err != nil {
		return fmt.Errorf("await node %d's jobs: %w", second.node, err)
	}

	// Returning from a Lead callback while leading hands leadership off, so
	// stopping the loops does too; Close then finds a live successor.
	stopLeading()
	loops.Wait()
	for _, n := range all {
		done, err := n.jobsDone(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "node %d's counter did %d jobs\n", n.id, done)
	}
	return nil
}

// next returns the next event of the kind wanted.
func next(ctx context.Context, events <-chan event, worked bool) (event, error) {
	for {
		select {
		case ev := <-events:
			if ev.worked == worked {
				return ev, nil
			}
		case <-ctx.Done():
			return event{}, ctx.Err()
		}
	}
}

// startNode creates node id's actor system, spawns the application's
// counter actor in it, then synod's election actors beside it.
func startNode(id remote.NodeID, net *remote.MemNetwork) (*node, error) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(quietLogger))
	n := &node{id: id, system: system, counter: system.Root.Spawn(actor.PropsFromProducer(newCounter))}

	cfg := actors.DefaultConfig()
	cfg.Cluster, cfg.Node, cfg.Address = "embed-demo", id, address(id)
	cfg.Peers = map[remote.NodeID]string{}
	for peer := remote.NodeID(1); peer <= nodes; peer++ {
		if peer != id {
			cfg.Peers[peer] = address(peer)
		}
	}
	cfg.Transport = net.Join(id)
	cfg.Seed = uint64(id)
	cfg.SupervisionLog = supervisor.NewLog(id.String(), io.Discard)
	e, err := actors.Spawn(system.Root, cfg)
	if err != nil {
		n.stopCounter()
		system.Shutdown()
		return nil, fmt.Errorf("node %d: %w", id, err)
	}
	n.election = e
	return n, nil
}

func address(id remote.NodeID) string { return fmt.Sprintf("embed-n%d", id) }

// quietLogger silences protoactor's own log; synod reports through the
// supervision log.
func quietLogger(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }

// leadership is n's Lead callback: it reports that it leads, has the
// counter do jobs while the leadership context lasts, reports that the
// jobs are done, and holds on until leadership ends.
func (n *node) leadership(events chan<- event) func(context.Context, actors.Term) error {
	report := func(ctx context.Context, ev event) {
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	}
	return func(ctx context.Context, term actors.Term) error {
		report(ctx, event{node: n.id, term: term})
		for range jobs {
			// The context ends the moment leadership does, so no job
			// starts after that.
			reply := make(chan int, 1)
			n.system.Root.Send(n.counter, &job{reply: reply})
			select {
			case <-reply:
			case <-ctx.Done():
				return nil
			}
		}
		report(ctx, event{node: n.id, term: term, worked: true})
		<-ctx.Done()
		return nil
	}
}

// jobsDone asks n's counter how many jobs it has done.
func (n *node) jobsDone(ctx context.Context) (int, error) {
	reply := make(chan int, 1)
	n.system.Root.Send(n.counter, &count{reply: reply})
	select {
	case c := <-reply:
		return c, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("node %d's counter: %w", n.id, ctx.Err())
	}
}

func (n *node) stopCounter() error {
	return n.system.Root.StopFuture(n.counter).Wait()
}

// shutdown closes every node: the Election first (the leader hands off
// to a live follower), then the application's actor, then the actor system,
// and last the network.
func shutdown(all []*node, net *remote.MemNetwork) error {
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	for _, n := range all {
		// A bounded close: the last node has no one left to hand off to.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		keep(n.election.Close(ctx))
		cancel()
		keep(n.stopCounter())
		n.system.Shutdown()
	}
	keep(net.Close())
	return first
}
