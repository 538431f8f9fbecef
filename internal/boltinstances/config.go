package boltinstances

import "errors"

// Config says where a Store keeps its records and how it reports errors.
// All fields but Check are required.
type Config[T any] struct {
	Records  []byte // bucket: Key(instance) → record of T
	Meta     []byte // bucket holding the floor under FloorKey
	FloorKey []byte
	// OnCreate is written into Meta by the same transaction that creates
	// the Records bucket, so that a store created empty can be told from
	// one that has kept records, even across a crash in the middle of Open
	// (the acceptor marks a new store fresh and gives it an id). Read the
	// values with MetaUint; change them with SetMeta.
	OnCreate []MetaValue

	// Corrupt is wrapped by every error caused by the stored bytes: a
	// record that does not decode, a foreign key, a record below the
	// floor, a missing bucket, a panic of bbolt on a damaged page.
	Corrupt error
	// Closed is returned, bare, by every call after Close.
	Closed error

	Prefix string // starts every message, e.g. "acceptor"
	Plural string // names the values in Save's message, e.g. "records"

	// Check, if set, vets each record Load decodes; an error fails the
	// Load, wrapped with Corrupt. Concurrent Loads call it concurrently.
	Check func(inst uint64, v *T) error
}

// validate reports the required fields left empty. A Config is written in
// code, so a miss is a bug; Open refuses it rather than let a nil Corrupt
// quietly break every caller's errors.Is.
func (c *Config[T]) validate() error {
	switch {
	case len(c.Records) == 0, len(c.Meta) == 0, len(c.FloorKey) == 0:
		return errors.New("boltinstances: Config.Records, Meta and FloorKey are required")
	case c.Corrupt == nil, c.Closed == nil:
		return errors.New("boltinstances: Config.Corrupt and Closed are required")
	case c.Prefix == "", c.Plural == "":
		return errors.New("boltinstances: Config.Prefix and Plural are required")
	}
	return nil
}
