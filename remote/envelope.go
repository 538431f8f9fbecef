package remote

// Envelope is a message a pure core wants sent to a node. The shell around
// the core (an actor, or the simulator) turns it into a send.
type Envelope struct {
	To  NodeID
	Msg any
}
