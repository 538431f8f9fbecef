package groupcommit

import "errors"

// ErrStopped is passed to the callback of a Submit made after Stop.
var ErrStopped = errors.New("groupcommit: stopped")
