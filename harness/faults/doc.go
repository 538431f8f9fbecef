// Package faults holds the partition and process-fault tests of synod:
// real "synod exec" processes, each in its own network namespace
// (harness/netns), run the fenced lock service (examples/fencedlock/lockd)
// while concurrent clients use it and the tests break the network and the
// processes. Each run checks that the clients' history is linearizable
// (harness/faults/history, with porcupine) and that no two leadership
// claims overlap, and that a leader returns after each fault heals.
//
// This directory is a module of its own, so that porcupine never enters
// synod's go.mod. The tests need root and iproute2, and skip where either
// is missing. From the repository root:
//
//	cd harness/faults
//	go test .                  # the short default run
//	go test . -faults.long     # longer faults and more traffic
//	go test . -faults.seed=N   # replay one seed
//
// There is no non-test code here.
package faults
