// Package storage owns a node's durable state: the file
// <data-dir>/synod.db, and everything that reads or writes it.
//
//   - Open opens the file, checks that the data dir is writable, that no
//     other process or node here has it open, that it is whole, and that
//     its meta stamp (format version, cluster, node) names this node.
//   - OpenInstances opens, inside it, the records of one role (Acceptor,
//     Learner) of one election: one record per Paxos instance at or above
//     a retention floor, and a few numbers of the role's own. Prune moves
//     the floor; Load reads only what is at or above it, so a node's start,
//     memory and file stay bounded however many instances pass.
//   - MemoryInstances is the same store in memory, for tests and
//     simulations: not durable.
//   - Committer groups one actor's writes into as few fsyncs as the disk
//     allows; Health logs a store's failing writes as episodes.
//   - Every error a caller branches on wraps one of the sentinels in
//     errors.go (ErrCorrupt, ErrWrongOwner, ...), whichever role's store
//     failed.
//
// The roles keep their own record types and Store interfaces (packages
// acceptor and learner); their stores are thin adapters over an
// InstanceStore. This package imports neither.
//
// # On disk
//
// synod.db is a bbolt file. Every value in it is a record: a version byte,
// a CRC-32C of the payload, and the msgpack payload (EncodeRecord). Keys
// are raw bytes.
//
//	meta                     format (1), cluster, node
//	acceptor                 instance (8 bytes, big-endian) → acceptor state
//	acceptor_meta            floor, and the acceptor's numbers (fresh, store_id, ...)
//	decided                  instance → decision
//	decided_meta             floor
//	elections/<name>/        the same four role buckets, for each named election
//
// The top-level role buckets belong to DefaultElection: that is the layout
// of format version 1, which every release so far has written, so a data
// dir from any of them opens as it is. Other elections nest under
// "elections", which those releases never read.
//
// A record below its role's floor is garbage: Load never reads it, and
// Prune deletes it (a bounded number per call).
package storage
