package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod/synod/remote"
)

// peerReport is one peer's connection as /readyz and /status show it.
type peerReport struct {
	ID      remote.NodeID `json:"id"`
	Address string        `json:"address"`
	Up      bool          `json:"up"`
	Error   string        `json:"error,omitempty"` // why it is down, once an attempt failed
	SinceMS int64         `json:"since_ms"`        // since Up last changed, or the transport started
}

// peerReports sorts the transport's view of its peers by id.
func peerReports(peers []remote.PeerStatus, now time.Time) []peerReport {
	out := make([]peerReport, 0, len(peers))
	for _, p := range peers {
		out = append(out, peerReport{ID: p.Peer, Address: p.Address, Up: p.Up, Error: p.LastError,
			SinceMS: now.Sub(p.Since).Milliseconds()})
	}
	slices.SortFunc(out, func(a, b peerReport) int { return int(a.ID) - int(b.ID) })
	return out
}

// notReadyReason says in one line why a node knows no leader, from its
// transport's view of the peers: the usual causes are a wrong address, a
// name that does not resolve, or peers that are not running, and each
// shows as a peer that is down with the error of the last attempt to
// reach it. When a majority is reachable there is no such cause to name:
// an election is under way (or the peers belong to another
// configuration, which the peers' own logs say).
// Without a transport that reports its peers (known false), it says
// only that no leader is known.
func notReadyReason(peers []peerReport, known bool) string {
	if !known {
		return "no leader known"
	}
	if len(peers) == 0 {
		return "no leader yet: a single node elects itself once its actors run"
	}
	up := 0
	var down []string
	for _, p := range peers {
		if p.Up {
			up++
			continue
		}
		why := p.Error
		if why == "" {
			why = "not connected yet"
		}
		down = append(down, fmt.Sprintf("%d=%s: %s", p.ID, p.Address, why))
	}
	// A majority of the len(peers)+1 nodes, this one included, needs
	// this many peers.
	need := (len(peers) + 1) / 2
	head := fmt.Sprintf("no leader: %d of %d peers reachable, %d needed for a majority", up, len(peers), need)
	if up >= need {
		head = fmt.Sprintf("no leader yet: %d of %d peers reachable, a majority with this node; an election is under way", up, len(peers))
	}
	return strings.Join(append([]string{head}, down...), "; ")
}

// peerReports returns the transport's view of the peers, and whether
// there is one.
func (src metricsSources) peerReports() ([]peerReport, bool) {
	if src.Peers == nil {
		return nil, false
	}
	return peerReports(src.Peers(), time.Now()), true
}

// degradedReason says, on a leader, when its lease rests on a bare
// majority while more members are up (reachable peers plus itself): a
// failed or abandoned campaign, a rebuilding node or a stray acceptance
// left an acceptor unable to grant it, and one more failure is an outage.
// Empty otherwise, and on a follower.
func degradedReason(leading bool, voters, quorum int, peers []peerReport, known bool) string {
	if !leading || !known || voters > quorum || voters == 0 {
		return ""
	}
	up := 1
	for _, p := range peers {
		if p.Up {
			up++
		}
	}
	if up <= voters {
		return ""
	}
	return fmt.Sprintf("lease rests on %d of %d members while %d are up: one more failure and no leader", voters, len(peers)+1, up)
}
