package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// callTimeout bounds each call to the store and to the node's admin API.
const callTimeout = time.Second

// errStale: the store holds a later term than ours; we are deposed.
var errStale = errors.New("lockd: the store holds a later term")

// service is the register API of one term. Its cache equals the store's
// data as long as it is fresh and this term is the store's fence: every
// write of this term goes through put, under mu.
type service struct {
	term   uint64
	admin  string // base URL of the node's admin API
	store  string // base URL of the fenced store
	client *http.Client
	quit   chan struct{} // closed by stop
	// calls carries every call to the store and the node; stop cancels it
	// first, so that a call stuck in the network (a write behind a cut
	// link) does not hold the claim open after SIGTERM.
	calls  context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	cache   map[string]string // nil until loaded
	fresh   bool              // cache is exact; false after a put of unknown outcome
	deposed bool              // the store refused our term
	stopped bool
}

func newService(term uint64, admin, store string) *service {
	calls, cancel := context.WithCancel(context.Background())
	return &service{term: term, admin: admin, store: store, client: &http.Client{Timeout: callTimeout},
		quit: make(chan struct{}), calls: calls, cancel: cancel}
}

// load fills the cache, retrying while the store cannot be reached. It
// returns errStale if the store refuses our term, or nil once loaded or
// stopped.
func (s *service) load() error {
	for {
		s.mu.Lock()
		err := s.reloadLocked()
		s.mu.Unlock()
		if err == nil || errors.Is(err, errStale) {
			return err
		}
		select {
		case <-s.quit:
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reloadLocked calls the store's /begin for our term and replaces the
// cache with its answer. Caller holds mu.
func (s *service) reloadLocked() error {
	if s.stopped {
		return errors.New("lockd: stopped")
	}
	var body struct {
		Entries map[string]struct{ Value string } `json:"entries"`
	}
	if err := s.call(s.store+"/begin?term="+strconv.FormatUint(s.term, 10), &body); err != nil {
		if errors.Is(err, errStale) {
			s.deposed = true
		}
		return err
	}
	s.cache = make(map[string]string, len(body.Entries))
	for k, e := range body.Entries {
		s.cache[k] = e.Value
	}
	s.fresh = true
	return nil
}

// stop refuses every later request. It first cancels the calls in
// flight: a write in progress then ends at once, its outcome unknown (502),
// instead of when the network lets it. Then it takes mu, so no write of
// ours starts once stop has returned. A write already on its way may
// still reach the store after that, but only with our term: if a later
// term has begun there, the store refuses it (the fence); if not, it
// lands before the later term begins, which reads it in /begin. Either
// way it never takes effect inside another term's claim.
func (s *service) stop() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stopped = true
		close(s.quit)
	}
}

// ready returns nil if the cache may be served, reloading it if a put's
// outcome was unknown. Caller holds mu.
func (s *service) readyLocked() (int, error) {
	switch {
	case s.stopped:
		return http.StatusServiceUnavailable, errors.New("stopping")
	case s.deposed:
		return http.StatusConflict, errStale
	case s.fresh:
		return 0, nil
	}
	if err := s.reloadLocked(); err != nil {
		if errors.Is(err, errStale) {
			return http.StatusConflict, err
		}
		return http.StatusServiceUnavailable, err
	}
	return 0, nil
}

func (s *service) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", s.get)
	mux.HandleFunc("POST /put", s.put)
	return mux
}

// get reads the cache, then confirms the term: see the package comment.
func (s *service) get(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	code, err := s.readyLocked()
	value, found := s.cache[key]
	s.mu.Unlock()
	if err != nil {
		answer(w, code, map[string]any{"error": err.Error()})
		return
	}
	var conf struct {
		OK   bool   `json:"ok"`
		Term uint64 `json:"term"`
	}
	if err := s.call(s.admin+"/confirm", &conf); err != nil || !conf.OK || conf.Term != s.term {
		code := http.StatusServiceUnavailable
		if errors.Is(err, errStale) || (err == nil && conf.Term != s.term) {
			code = http.StatusConflict // the node does not lead our term
		}
		answer(w, code, map[string]any{"error": fmt.Sprintf("confirm term %d: %v (node says term %d)", s.term, err, conf.Term)})
		return
	}
	answer(w, http.StatusOK, map[string]any{"value": value, "found": found, "term": s.term})
}

// put writes through the store, then the cache, under mu.
func (s *service) put(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, value := q.Get("key"), q.Get("value")
	s.mu.Lock()
	defer s.mu.Unlock()
	if code, err := s.readyLocked(); err != nil {
		answer(w, code, map[string]any{"error": err.Error()})
		return
	}
	u := fmt.Sprintf("%s/put?term=%d&key=%s&value=%s", s.store, s.term, url.QueryEscape(key), url.QueryEscape(value))
	switch err := s.call(u, nil); {
	case err == nil:
		s.cache[key] = value
		answer(w, http.StatusOK, map[string]any{"term": s.term})
	case errors.Is(err, errStale):
		s.deposed = true
		answer(w, http.StatusConflict, map[string]any{"error": err.Error()})
	default:
		// The store may have written: our cache may be wrong until reloaded.
		s.fresh = false
		answer(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
	}
}

// call POSTs to u and decodes a 200 answer into out (if not nil). A 409
// answer is errStale; the node's /confirm also answers 409 when it does
// not lead.
func (s *service) call(u string, out any) error {
	req, err := http.NewRequestWithContext(s.calls, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if out == nil {
			return nil
		}
		return json.Unmarshal(data, out)
	case http.StatusConflict:
		if out != nil {
			_ = json.Unmarshal(data, out)
		}
		return fmt.Errorf("%w: %s", errStale, data)
	default:
		return fmt.Errorf("lockd: %s: %s: %s", u, resp.Status, data)
	}
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
