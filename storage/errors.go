package storage

import (
	"errors"
	"fmt"
)

// Errors that storage returns and callers branch on with errors.Is. Every
// one comes wrapped with what failed (the file, the election, the
// instance); these are the whole set, shared by every role's store.
var (
	// ErrCorrupt: stored bytes failed their checksum or did not decode, or
	// the file is not a whole bbolt database (cut short, overwritten). The
	// node must stop rather than run with a forgotten promise, and no
	// restart can fix it.
	ErrCorrupt = errors.New("storage: data corrupt")
	// ErrWrongOwner: the data dir was created for another cluster or
	// node. Running on it would answer with someone else's promises.
	ErrWrongOwner = errors.New("storage: data dir belongs to another node or cluster")
	// ErrFormat: the database was written in a format this build does
	// not know (a newer release, or not a synod database at all).
	ErrFormat = errors.New("storage: unknown data format")
	// ErrInUse: the database is open already, by another process (its
	// file lock) or by this one (another node in the same process).
	ErrInUse = errors.New("storage: data dir in use")
	// ErrNotWritable: the data dir cannot be written (a read-only file
	// system, permissions). A node that cannot persist a promise must not
	// start.
	ErrNotWritable = errors.New("storage: data dir not writable")
	// ErrClosed: a store was used after its Close, or after the DB it
	// lives in was closed.
	ErrClosed = errors.New("storage: closed")
	// ErrStopped: a Committer was handed a write after Stop; the write
	// was not saved.
	ErrStopped = errors.New("storage: group commit stopped")
)

// kindError is a message that errors.Is matches to one of the errors above
// (its kind) without repeating that error's text after its own.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// kinded formats a message of the given kind.
func kinded(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}
