package storage

import (
	"errors"
	"fmt"
	"runtime/debug"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/remote"
)

// formatVersion is the layout of buckets and records this build writes
// (see the package doc). A file of another version is refused with
// ErrFormat, never guessed at. Version 1 is the layout of every release so
// far; named elections fit into it without a change (they live under a
// bucket that older builds never look at).
const formatVersion uint64 = 1

// The meta bucket stamps the file with its format and owner.
var (
	bucketMeta = []byte("meta")
	keyCluster = []byte("cluster")
	keyNode    = []byte("node")
	keyFormat  = []byte("format")
)

// Owner names the node a data dir belongs to. Open stamps it into a fresh
// database and refuses a database stamped for anyone else.
type Owner struct {
	Cluster string
	Node    remote.NodeID
}

// Validate reports the first field of o that cannot name an owner.
func (o Owner) Validate() error {
	if o.Cluster == "" {
		return errors.New("storage: Owner.Cluster is empty")
	}
	if o.Node == 0 {
		return errors.New("storage: Owner.Node is 0; node ids start at 1")
	}
	return nil
}

// checkMeta stamps a fresh database with owner, or checks the stamp of an
// existing one. It is the first read past bbolt's own pages, so damage to
// the root page shows here: a panic of bbolt is ErrCorrupt.
func checkMeta(db *bbolt.DB, dataDir string, owner Owner) (err error) {
	defer recoverCorrupt(&err, "check meta of "+db.Path())
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return stampMeta(tx, db.Path(), owner)
		}
		var format uint64
		if err := getRecord(b, keyFormat, &format); err != nil {
			return fmt.Errorf("storage: %s: meta %s: %w", db.Path(), keyFormat, err)
		}
		if format != formatVersion {
			return fmt.Errorf("storage: %s has format version %d, this build reads %d: %w",
				db.Path(), format, formatVersion, ErrFormat)
		}
		var stamp Owner
		if err := getRecord(b, keyCluster, &stamp.Cluster); err != nil {
			return fmt.Errorf("storage: %s: meta %s: %w", db.Path(), keyCluster, err)
		}
		if err := getRecord(b, keyNode, &stamp.Node); err != nil {
			return fmt.Errorf("storage: %s: meta %s: %w", db.Path(), keyNode, err)
		}
		switch {
		case stamp.Cluster != owner.Cluster:
			return kinded(ErrWrongOwner, "storage: data dir %s belongs to another cluster: %q (node %d), not %q",
				dataDir, stamp.Cluster, stamp.Node, owner.Cluster)
		case stamp.Node != owner.Node:
			return kinded(ErrWrongOwner, "storage: data dir %s belongs to another node of cluster %q: node %d, not node %d",
				dataDir, stamp.Cluster, stamp.Node, owner.Node)
		}
		return nil
	})
}

// stampMeta writes owner into a database that has no meta bucket, which
// must then hold nothing at all: buckets without a stamp are not ours.
func stampMeta(tx *bbolt.Tx, path string, owner Owner) error {
	if err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		return fmt.Errorf("storage: %s has bucket %q but no meta bucket; not a synod database: %w", path, name, ErrFormat)
	}); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return fmt.Errorf("storage: %s: create meta bucket: %w", path, err)
	}
	for _, kv := range []struct {
		key []byte
		val any
	}{{keyFormat, formatVersion}, {keyCluster, owner.Cluster}, {keyNode, owner.Node}} {
		if err := putRecord(b, kv.key, kv.val); err != nil {
			return fmt.Errorf("storage: %s: write meta %s: %w", path, kv.key, err)
		}
	}
	return nil
}

// getRecord decodes the record under key in b. A missing or undecodable
// record wraps ErrCorrupt.
func getRecord(b *bbolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return fmt.Errorf("missing: %w", ErrCorrupt)
	}
	return DecodeRecord(raw, v)
}

// putRecord writes v, framed, under key in b.
func putRecord(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := EncodeRecord(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}
