package faults_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/examples/fencedlock"
)

// storeServer is the fenced store that every lockd writes to, served by
// the test process on the bridge address, so that it stays reachable from
// every node whatever the cuts between nodes (a link set down is the only
// thing that hides it). Protocol: POST /begin?term=T → 200
// {"entries":{key:{"Value":v,"Term":t}}}; POST /put?term=T&key=K&value=V
// → 200; a term below the fence → 409, with no effect.
type storeServer struct {
	store *fencedlock.Store
	url   string
}

func startStore(t *testing.T, addr string) *storeServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	s := &storeServer{store: fencedlock.NewStore(), url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /begin", func(w http.ResponseWriter, r *http.Request) {
		term, ok := termOf(w, r)
		if !ok {
			return
		}
		entries, err := s.store.Begin(term)
		if reply(w, err) {
			writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
		}
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		term, ok := termOf(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		if reply(w, s.store.Put(term, q.Get("key"), q.Get("value"))) {
			writeJSON(w, http.StatusOK, map[string]any{})
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 2 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func termOf(w http.ResponseWriter, r *http.Request) (actors.Term, bool) {
	term, err := strconv.ParseUint(r.URL.Query().Get("term"), 10, 64)
	if err != nil || term == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "term: want an integer above 0"})
		return 0, false
	}
	return actors.Term(term), true
}

// reply answers a refusal and returns false, or returns true if err is
// nil.
func reply(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, fencedlock.ErrStaleTerm):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	}
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
