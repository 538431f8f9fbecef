package faults_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/synod/synod/harness/faults/history"
)

// clientTimeout bounds one operation. A put that times out is Unknown: it
// may have reached the store.
const clientTimeout = time.Second

// keys the clients use: few, so that reads often see other clients'
// writes.
var keys = []string{"x", "y"}

// workload is concurrent clients that send reads and writes to nodes
// picked at random (from a seeded source), recording every call.
type workload struct {
	c    *cluster
	rec  *history.Recorder
	stop chan struct{}
	wg   sync.WaitGroup
}

func startClients(c *cluster, rec *history.Recorder, seed uint64, n int) *workload {
	w := &workload{c: c, rec: rec, stop: make(chan struct{})}
	for id := 0; id < n; id++ {
		w.wg.Add(1)
		go w.client(id, rand.New(rand.NewPCG(seed, uint64(id))))
	}
	return w
}

// halt stops the clients and waits for their calls in flight.
func (w *workload) halt() {
	close(w.stop)
	w.wg.Wait()
}

func (w *workload) client(id int, rng *rand.Rand) {
	defer w.wg.Done()
	hc := &http.Client{Timeout: clientTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		node := 1 + rng.IntN(len(w.c.nodes))
		key := keys[rng.IntN(len(keys))]
		var ok bool
		if rng.IntN(2) == 0 {
			ok = w.get(hc, id, node, key)
		} else {
			ok = w.put(hc, id, node, key, fmt.Sprintf("c%d-%d", id, seq))
		}
		if !ok { // most nodes run no lockd: do not spin on refusals
			select {
			case <-w.stop:
				return
			case <-time.After(time.Duration(5+rng.IntN(15)) * time.Millisecond):
			}
		}
	}
}

// get reads key at node. A read has no effect, so any failure, even a
// timeout, is recorded as Fail (the history drops it).
func (w *workload) get(hc *http.Client, id, node int, key string) bool {
	call := w.rec.Invoke(id, history.Input{Kind: history.Get, Key: key})
	resp, err := hc.Get(w.c.lockdURL(node) + "/get?key=" + url.QueryEscape(key))
	if err != nil {
		call.Fail()
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Value string `json:"value"`
		Term  uint64 `json:"term"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		call.Fail()
		return false
	}
	call.Note("node %d term %d", node, body.Term)
	call.Return(history.Output{Value: body.Value})
	return true
}

// put writes key=value at node. It has no effect if lockd refused it
// (409, 503) or the connection was never made; a 502 (the store did not
// answer lockd) or a failure after the request went out is Unknown.
func (w *workload) put(hc *http.Client, id, node int, key, value string) bool {
	call := w.rec.Invoke(id, history.Input{Kind: history.Put, Key: key, Value: value})
	resp, err := hc.Post(fmt.Sprintf("%s/put?key=%s&value=%s", w.c.lockdURL(node), url.QueryEscape(key), url.QueryEscape(value)), "", nil)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			call.Fail() // nothing was sent
		} else {
			call.Unknown()
		}
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Term uint64 `json:"term"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	switch resp.StatusCode {
	case http.StatusOK:
		call.Note("node %d term %d", node, body.Term)
		call.Return(history.Output{})
		return true
	case http.StatusConflict, http.StatusServiceUnavailable:
		call.Fail()
	default:
		call.Unknown()
	}
	return false
}
