package storage

import (
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"
)

// DefaultElection names the election of a node that runs one, as every
// node has so far. Its stores keep the top-level buckets of format
// version 1, so that the data dirs of every earlier release open as they
// are; every other election keeps the same buckets one level down, in
// elections/<name>.
const DefaultElection = "default"

// MaxElectionName is the longest election name, in bytes.
const MaxElectionName = 256

// bucketElections holds one bucket per named election, by name.
var bucketElections = []byte("elections")

// ValidateElection reports why name cannot name an election: it is empty
// or longer than MaxElectionName bytes. Any other string names one.
func ValidateElection(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("storage: election name is empty (the default election is %q)", DefaultElection)
	case len(name) > MaxElectionName:
		return fmt.Errorf("storage: election name of %d bytes, longer than %d", len(name), MaxElectionName)
	}
	return nil
}

// Role names the buckets of one role's records in an election. The roles
// are the package's values; the zero Role is none.
type Role struct {
	name    string // starts every message: "acceptor"
	plural  string // what its records are: "records"
	records []byte // bucket: instanceKey(instance) → record of the role's type
	meta    []byte // bucket: the floor and the role's own numbers
}

// The roles that keep records, with their buckets. These names are the
// on-disk layout: changing one is a format change.
var (
	// Acceptor keeps one State per instance, in buckets "acceptor" and
	// "acceptor_meta".
	Acceptor = Role{name: "acceptor", plural: "records", records: []byte("acceptor"), meta: []byte("acceptor_meta")}
	// Learner keeps one Decision per instance, in buckets "decided" and
	// "decided_meta".
	Learner = Role{name: "learner", plural: "decisions", records: []byte("decided"), meta: []byte("decided_meta")}
)

// String returns the role's name.
func (r Role) String() string { return r.name }

func (r Role) validate() error {
	if r.name == "" {
		return errors.New("storage: Role is the zero Role; use storage.Acceptor or storage.Learner")
	}
	return nil
}

// bucketParent is what holds an election's role buckets: the transaction
// itself for DefaultElection, the election's bucket for any other. Both
// bbolt types have these two methods.
type bucketParent interface {
	Bucket(name []byte) *bbolt.Bucket
	CreateBucketIfNotExists(name []byte) (*bbolt.Bucket, error)
}

// electionParent returns where election's role buckets are in tx, or nil
// when the election has no bucket yet.
func electionParent(tx *bbolt.Tx, election string) bucketParent {
	if election == DefaultElection {
		return tx
	}
	all := tx.Bucket(bucketElections)
	if all == nil {
		return nil
	}
	if b := all.Bucket([]byte(election)); b != nil {
		return b
	}
	return nil
}

// createElectionParent is electionParent, creating the buckets it needs.
func createElectionParent(tx *bbolt.Tx, election string) (bucketParent, error) {
	if election == DefaultElection {
		return tx, nil
	}
	all, err := tx.CreateBucketIfNotExists(bucketElections)
	if err != nil {
		return nil, err
	}
	return all.CreateBucketIfNotExists([]byte(election))
}

// Elections returns the names of the elections that have a store in the
// database, sorted: DefaultElection if any role opened one there, and
// every named election.
func (db *DB) Elections() (names []string, err error) {
	err = db.view("list elections", func(tx *bbolt.Tx) error {
		if tx.Bucket(Acceptor.records) != nil || tx.Bucket(Learner.records) != nil {
			names = append(names, DefaultElection)
		}
		if all := tx.Bucket(bucketElections); all != nil {
			return all.ForEachBucket(func(name []byte) error {
				if string(name) != DefaultElection {
					names = append(names, string(name))
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}
