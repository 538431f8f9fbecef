package actors_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// ExampleSpawn starts a three-node cluster in one process: one actor system
// per node, joined by an in-memory network, and the election actors
// spawned into each system.
func ExampleSpawn() {
	net := remote.NewMemNetwork(1, remote.Faults{})
	addr := func(id remote.NodeID) string { return fmt.Sprintf("node-%d", id) }
	var systems []*actor.ActorSystem
	var elections []*actors.Election
	for id := remote.NodeID(1); id <= 3; id++ {
		system := actor.NewActorSystem(actor.WithLoggerFactory(discardLogger))
		cfg := actors.DefaultConfig()
		cfg.Cluster, cfg.Node, cfg.Address = "example", id, addr(id)
		cfg.Peers = map[remote.NodeID]string{}
		for peer := remote.NodeID(1); peer <= 3; peer++ {
			if peer != id {
				cfg.Peers[peer] = addr(peer)
			}
		}
		cfg.Transport = net.Join(id)
		cfg.SupervisionLog = supervisor.NewLog(id.String()) // no writer: discard
		e, err := actors.Spawn(system.Root, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		systems, elections = append(systems, system), append(elections, e)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for l := range elections[0].Observe(ctx) {
		if l.Leader != 0 {
			fmt.Println("leader elected")
			break
		}
	}

	// Close resigns first if the node leads. Bound it: the node closed last
	// has no majority left to hand off to, and would wait for its context.
	for i, e := range elections {
		closeCtx, cancelClose := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_ = e.Close(closeCtx)
		cancelClose()
		systems[i].Shutdown()
	}
	_ = net.Close()
	// Output: leader elected
}

func ExampleConfig_Validate() {
	cfg := actors.DefaultConfig()
	fmt.Println(cfg.Validate())
	// Output: actors: Config.Cluster must not be empty
}

// ExampleElection_Lead runs the same Lead loop on every node; only the
// leader's callback runs, until its context says leadership is lost.
func ExampleElection_Lead() {
	c := startExampleCluster(nil)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type period struct {
		node remote.NodeID
		term actors.Term
	}
	started := make(chan period, 1)
	var loops sync.WaitGroup
	for _, e := range c.elections {
		loops.Go(func() {
			_ = e.Lead(ctx, func(lctx context.Context, term actors.Term) error {
				select {
				case started <- period{e.Node(), term}:
				case <-lctx.Done():
				}
				<-lctx.Done() // do leader's work here until leadership is lost
				return nil
			})
		})
	}

	first := <-started
	fmt.Println("leading")
	// Resigning cancels the callback's context; another node takes over.
	if err := c.node(first.node).Resign(ctx); err != nil {
		fmt.Println(err)
	}
	next := <-started
	fmt.Println("another node leads a later term:", next.node != first.node && next.term > first.term)

	cancel()
	loops.Wait()
	// Output:
	// leading
	// another node leads a later term: true
}

// ExampleElection_Guard confirms leadership before an action and hands the
// action the term to use as its fencing token (see examples/fencedlock).
func ExampleElection_Guard() {
	c := startExampleCluster(nil)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, follower := c.awaitLeader(ctx)

	err := leader.Guard(ctx, func(ctx context.Context, term actors.Term) error {
		// Write to a store that refuses terms below the highest it has seen.
		fmt.Println("confirmed; fencing token above 0:", term > 0)
		return nil
	})
	fmt.Println("leader:", err)

	err = follower.Guard(ctx, func(context.Context, actors.Term) error {
		return errors.New("never runs on a follower")
	})
	var nl *actors.NotLeaderError
	fmt.Println("follower: not leader:", errors.Is(err, actors.ErrNotLeader),
		"hint names the leader:", errors.As(err, &nl) && nl.Leader == leader.Node())
	// Output:
	// confirmed; fencing token above 0: true
	// leader: <nil>
	// follower: not leader: true hint names the leader: true
}

// ExampleElection_Observe watches the leader's own view while it resigns.
func ExampleElection_Observe() {
	c := startExampleCluster(nil)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, _ := c.awaitLeader(ctx)

	changes := leader.Observe(ctx)
	now := <-changes // the current state comes first
	fmt.Println("leading:", now.Leading)
	if err := leader.Resign(ctx); err != nil {
		fmt.Println(err)
	}
	for l := range changes {
		if l.Leader != 0 && l.Leader != leader.Node() {
			fmt.Println("another node leads a later term:", l.Term > now.Term)
			break
		}
	}
	// Output:
	// leading: true
	// another node leads a later term: true
}

// ExampleElection_TransferTo hands leadership to a chosen node in one
// Paxos round: it leads the very next term.
func ExampleElection_TransferTo() {
	c := startExampleCluster(nil)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, target := c.awaitLeader(ctx)
	before, _ := leader.Leader()

	if err := leader.TransferTo(ctx, target.Node()); err != nil {
		fmt.Println(err)
		return
	}
	term, err := target.Await(ctx)
	fmt.Println("target leads the next term:", err == nil && term == before.Term+1)
	// Output: target leads the next term: true
}

// ExampleFastFailover turns leases off: a follower may stand as soon as the
// leader's connection drops, IsLeader becomes a hint, and Confirm (and
// Guard) always ask a quorum.
func ExampleFastFailover() {
	fmt.Println("lease:", actors.FastFailover(actors.DefaultConfig()).LeaseDuration)

	c := startExampleCluster(actors.FastFailover)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, _ := c.awaitLeader(ctx)

	rounds := leader.Stats().QuorumRounds
	term, err := leader.Confirm(ctx)
	fmt.Println("confirmed:", err == nil && term > 0, "by a quorum round:", leader.Stats().QuorumRounds > rounds)
	// Output:
	// lease: 0s
	// confirmed: true by a quorum round: true
}

// exampleCluster is three nodes in one process, as ExampleSpawn builds
// them.
type exampleCluster struct {
	net       *remote.MemNetwork
	systems   []*actor.ActorSystem
	elections []*actors.Election
}

// startExampleCluster starts three nodes; configure, if set, edits each
// node's config. It panics on error: examples have no *testing.T.
func startExampleCluster(configure func(actors.Config) actors.Config) *exampleCluster {
	c := &exampleCluster{net: remote.NewMemNetwork(1, remote.Faults{})}
	addr := func(id remote.NodeID) string { return fmt.Sprintf("node-%d", id) }
	for id := remote.NodeID(1); id <= 3; id++ {
		system := actor.NewActorSystem(
			actor.WithLoggerFactory(discardLogger),
			actor.WithDeadLetterThrottleInterval(10*time.Millisecond))
		cfg := actors.DefaultConfig()
		cfg.Cluster, cfg.Node, cfg.Address, cfg.Seed = "example", id, addr(id), uint64(id)
		cfg.Peers = map[remote.NodeID]string{}
		for peer := remote.NodeID(1); peer <= 3; peer++ {
			if peer != id {
				cfg.Peers[peer] = addr(peer)
			}
		}
		cfg.Transport = c.net.Join(id)
		cfg.SupervisionLog = supervisor.NewLog(id.String())
		if configure != nil {
			cfg = configure(cfg)
		}
		e, err := actors.Spawn(system.Root, cfg)
		if err != nil {
			panic(err)
		}
		c.systems, c.elections = append(c.systems, system), append(c.elections, e)
	}
	return c
}

func (c *exampleCluster) node(id remote.NodeID) *actors.Election { return c.elections[id-1] }

// awaitLeader waits until exactly one node leads and every node knows it,
// and returns the leader and the node after it. It polls: the condition
// spans nodes, and no one channel announces it.
func (c *exampleCluster) awaitLeader(ctx context.Context) (leader, follower *actors.Election) {
	for ctx.Err() == nil {
		var leaders []*actors.Election
		for _, e := range c.elections {
			if e.IsLeader() {
				leaders = append(leaders, e)
			}
		}
		if len(leaders) == 1 {
			agreed := true
			for _, e := range c.elections {
				if l, ok := e.Leader(); !ok || l.Leader != leaders[0].Node() {
					agreed = false
				}
			}
			if agreed {
				return leaders[0], c.node(leaders[0].Node()%3 + 1)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	panic("example cluster: no agreed leader: " + ctx.Err().Error())
}

// close closes the leader first, so that its hand-off finds live
// followers, then the rest, each bounded: the last has no one to hand off
// to.
func (c *exampleCluster) close() {
	order := make([]int, 0, len(c.elections))
	for i, e := range c.elections {
		if e.IsLeader() {
			order = append([]int{i}, order...)
		} else {
			order = append(order, i)
		}
	}
	for _, i := range order {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_ = c.elections[i].Close(ctx)
		cancel()
		c.systems[i].Shutdown()
	}
	_ = c.net.Close()
}

// discardLogger silences protoactor's own log, which goes to stderr by
// default.
func discardLogger(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }
