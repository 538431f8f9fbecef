package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakes is a store that accepts terms at or above its fence and a node
// whose /confirm answers what the test sets.
type fakes struct {
	store, admin *httptest.Server
	fence        atomic.Uint64
	confirmTerm  atomic.Uint64 // 0: /confirm answers 409
	storeDown    atomic.Bool   // /put writes, then hangs past the call timeout

	mu   sync.Mutex
	data map[string]string
}

func newFakes(t *testing.T) *fakes {
	f := &fakes{data: map[string]string{}}
	f.store = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		term := parseTerm(q.Get("term"))
		if term < f.fence.Load() {
			answer(w, http.StatusConflict, map[string]string{"error": "stale"})
			return
		}
		f.fence.Store(term)
		switch r.URL.Path {
		case "/begin":
			f.mu.Lock()
			defer f.mu.Unlock()
			entries := map[string]map[string]string{}
			for k, v := range f.data {
				entries[k] = map[string]string{"Value": v}
			}
			answer(w, http.StatusOK, map[string]any{"entries": entries})
		case "/put":
			f.mu.Lock()
			f.data[q.Get("key")] = q.Get("value")
			f.mu.Unlock()
			if f.storeDown.Load() {
				time.Sleep(callTimeout + 200*time.Millisecond)
			}
			answer(w, http.StatusOK, map[string]any{})
		}
	}))
	f.admin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if term := f.confirmTerm.Load(); term != 0 {
			answer(w, http.StatusOK, map[string]any{"ok": true, "term": term})
			return
		}
		answer(w, http.StatusConflict, map[string]any{"ok": false, "term": 99})
	}))
	t.Cleanup(func() { f.store.Close(); f.admin.Close() })
	return f
}

func parseTerm(s string) uint64 {
	var n uint64
	for _, c := range s {
		n = n*10 + uint64(c-'0')
	}
	return n
}

func do(t *testing.T, h http.Handler, method, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func putPath(k, v string) string {
	return "/put?key=" + url.QueryEscape(k) + "&value=" + url.QueryEscape(v)
}

// TestReadsNeedConfirmationOfOwnTerm: a read is answered only when the
// node confirms lockd's own term; writes go through the store and show
// in later reads.
func TestReadsNeedConfirmationOfOwnTerm(t *testing.T) {
	f := newFakes(t)
	f.data["x"] = "old"
	s := newService(5, f.admin.URL, f.store.URL)
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	h := s.handler()
	if code, _ := do(t, h, "GET", "/get?key=x"); code != http.StatusConflict {
		t.Fatalf("read while the node does not lead: %d, want 409", code)
	}
	f.confirmTerm.Store(6)
	if code, _ := do(t, h, "GET", "/get?key=x"); code != http.StatusConflict {
		t.Fatalf("read while the node leads a later term: %d, want 409", code)
	}
	f.confirmTerm.Store(5)
	if code, body := do(t, h, "GET", "/get?key=x"); code != http.StatusOK || body["value"] != "old" {
		t.Fatalf("read: %d %v, want 200 old", code, body)
	}
	if code, _ := do(t, h, "POST", putPath("x", "new")); code != http.StatusOK {
		t.Fatalf("put: %d", code)
	}
	if code, body := do(t, h, "GET", "/get?key=x"); code != http.StatusOK || body["value"] != "new" {
		t.Fatalf("read after put: %d %v, want 200 new", code, body)
	}
}

// TestDeposedByTheFence: once the store holds a later term, lockd refuses
// every write and read with 409 and changes nothing.
func TestDeposedByTheFence(t *testing.T) {
	f := newFakes(t)
	s := newService(5, f.admin.URL, f.store.URL)
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	f.confirmTerm.Store(5)
	f.fence.Store(7) // a later leader began
	h := s.handler()
	if code, _ := do(t, h, "POST", putPath("x", "late")); code != http.StatusConflict {
		t.Fatalf("put below the fence: %d, want 409", code)
	}
	f.mu.Lock()
	_, ok := f.data["x"]
	f.mu.Unlock()
	if ok {
		t.Fatal("a refused put changed the store")
	}
	if code, _ := do(t, h, "GET", "/get?key=x"); code != http.StatusConflict {
		t.Fatalf("read after being deposed: %d, want 409", code)
	}
}

// TestUnknownPutReloads: a put whose store call timed out answers 502 and
// makes lockd reload from the store before it serves again, so a write
// that did land is not hidden by the cache.
func TestUnknownPutReloads(t *testing.T) {
	f := newFakes(t)
	s := newService(5, f.admin.URL, f.store.URL)
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	f.confirmTerm.Store(5)
	h := s.handler()
	f.storeDown.Store(true)
	if code, _ := do(t, h, "POST", putPath("x", "maybe")); code != http.StatusBadGateway {
		t.Fatalf("put with the store hanging: %d, want 502", code)
	}
	f.storeDown.Store(false)
	if code, body := do(t, h, "GET", "/get?key=x"); code != http.StatusOK || body["value"] != "maybe" {
		t.Fatalf("read after an unknown put that landed: %d %v, want 200 maybe", code, body)
	}
}

// TestStopRefuses: after stop, requests are refused with 503.
func TestStopRefuses(t *testing.T) {
	f := newFakes(t)
	s := newService(5, f.admin.URL, f.store.URL)
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	s.stop()
	if code, _ := do(t, s.handler(), "POST", putPath("x", "v")); code != http.StatusServiceUnavailable {
		t.Fatalf("put after stop: %d, want 503", code)
	}
}
