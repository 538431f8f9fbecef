package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Status is the part of a worker's GET /status that the harness reads.
type Status struct {
	Node     int    `json:"node"`
	Term     uint64 `json:"term"`
	Leader   int    `json:"leader"` // 0: none known
	IsLeader bool   `json:"is_leader"`
	PID      int    `json:"pid"` // the worker's
	Restarts int    `json:"restarts"`
	UptimeMS int64  `json:"uptime_ms"` // of the worker process
	Members  []struct {
		ID         int   `json:"id"`
		Self       bool  `json:"self"`
		Reachable  bool  `json:"reachable"`
		LastSeenMS int64 `json:"last_seen_ms"` // ago; -1: never heard from
	} `json:"members"`
}

// Status fetches n's /status within timeout; an error means it did not
// answer.
func (c *Cluster) Status(ctx context.Context, n *Node, timeout time.Duration) (Status, error) {
	var s Status
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Admin+"/status", nil)
	if err != nil {
		return s, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("node %d: GET /status: %s", n.ID, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("node %d: GET /status: %w", n.ID, err)
	}
	return s, nil
}

// Statuses polls every node at once; ok[i] is false for a node that did
// not answer.
func (c *Cluster) Statuses(ctx context.Context, timeout time.Duration) ([]Status, []bool) {
	out, ok := make([]Status, len(c.Nodes)), make([]bool, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Go(func() {
			s, err := c.Status(ctx, n, timeout)
			out[i], ok[i] = s, err == nil
		})
	}
	wg.Wait()
	return out, ok
}

// Confirmation is the outcome of one POST /confirm.
type Confirmation struct {
	OK   bool   `json:"ok"` // 200: this node leads Term, confirmed
	Term uint64 `json:"term"`
	// Code is the HTTP status: 409 when the node does not lead, 503 when
	// no quorum answered in time.
	Code  int    `json:"-"`
	Error string `json:"error"`
}

// Confirm asks n to confirm its leadership (POST /confirm) within
// timeout; an error means it did not answer.
func (c *Cluster) Confirm(ctx context.Context, n *Node, timeout time.Duration) (Confirmation, error) {
	var r Confirmation
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.Admin+"/confirm", nil)
	if err != nil {
		return r, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("node %d: POST /confirm: %s: %w", n.ID, resp.Status, err)
	}
	r.Code = resp.StatusCode
	r.OK = r.OK && resp.StatusCode == http.StatusOK
	return r, nil
}
