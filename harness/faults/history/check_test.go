package history

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"
)

// put and get build records for hand-made histories: [call, ret] on the
// recorder's clock, in arbitrary units.
func put(client int, key, value string, call, ret int64) Record {
	return Record{Client: client, Input: Input{Kind: Put, Key: key, Value: value}, Call: call, Return: ret, Outcome: OK}
}

func get(client int, key, value string, call, ret int64) Record {
	return Record{Client: client, Input: Input{Kind: Get, Key: key}, Output: Output{Value: value}, Call: call, Return: ret, Outcome: OK}
}

func unknown(r Record) Record {
	r.Outcome, r.Return, r.Output = Unknown, 0, Output{Unknown: true}
	return r
}
func failed(r Record) Record { r.Outcome = Failed; return r }

func TestCheckVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []Record
		want porcupine.CheckResult
	}{
		{"sequential", []Record{put(0, "x", "a", 0, 10), get(1, "x", "a", 20, 30)}, porcupine.Ok},
		{"never written reads empty", []Record{get(0, "x", "", 0, 10)}, porcupine.Ok},
		{"stale read after a later put returned", []Record{
			put(0, "x", "a", 0, 10), put(0, "x", "b", 20, 30), get(1, "x", "a", 40, 50)}, porcupine.Illegal},
		{"read concurrent with a put may see either", []Record{
			put(0, "x", "a", 0, 10), put(0, "x", "b", 20, 40), get(1, "x", "a", 25, 30), get(2, "x", "b", 26, 35)}, porcupine.Ok},
		{"a value read cannot be unread", []Record{
			put(0, "x", "a", 0, 10), put(0, "x", "b", 20, 60), get(1, "x", "b", 25, 30), get(2, "x", "a", 40, 50)}, porcupine.Illegal},
		{"keys are independent", []Record{
			put(0, "x", "a", 0, 10), put(1, "y", "b", 0, 10), get(2, "x", "a", 20, 30), get(2, "y", "b", 40, 50)}, porcupine.Ok},
		{"read from another key", []Record{put(0, "x", "a", 0, 10), get(1, "y", "a", 20, 30)}, porcupine.Illegal},
		{"unknown put may land late", []Record{
			put(0, "x", "a", 0, 10), unknown(put(1, "x", "b", 20, 0)), get(2, "x", "a", 40, 50), get(2, "x", "b", 60, 70)}, porcupine.Ok},
		{"unknown put may never land", []Record{
			put(0, "x", "a", 0, 10), unknown(put(1, "x", "b", 20, 0)), get(2, "x", "a", 40, 50)}, porcupine.Ok},
		{"unknown put lands once", []Record{
			put(0, "x", "a", 0, 10), unknown(put(1, "x", "b", 20, 0)), get(2, "x", "b", 40, 50), get(2, "x", "a", 60, 70)}, porcupine.Illegal},
		{"unknown get is dropped", []Record{put(0, "x", "a", 0, 10), unknown(get(1, "x", "", 20, 0))}, porcupine.Ok},
		{"a failed put never lands", []Record{
			put(0, "x", "a", 0, 10), failed(put(1, "x", "b", 20, 30)), get(2, "x", "b", 40, 50)}, porcupine.Illegal},
		{"a pending put may land", []Record{
			{Client: 1, Input: Input{Kind: Put, Key: "x", Value: "b"}, Call: 20, Outcome: Pending}, get(2, "x", "b", 40, 50)}, porcupine.Ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(tc.recs, Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s", res.Verdict, tc.want)
			}
			if saved := res.HistoryFile != ""; saved != (tc.want != porcupine.Ok) {
				t.Fatalf("saved=%v (%s) for verdict %s", saved, res.HistoryFile, res.Verdict)
			}
		})
	}
}

// TestIllegalHistoryIsSaved: a failing history is written as JSON that
// loads back to the same records and fails again, with an HTML
// visualization beside it.
func TestIllegalHistoryIsSaved(t *testing.T) {
	dir := t.TempDir()
	recs := []Record{put(0, "x", "a", 0, 10), put(0, "x", "b", 20, 30), get(1, "x", "a", 40, 50)}
	recs[2].Note = "node 3 term 7"
	res, err := Check(recs, Options{Dir: dir, Name: "stale"})
	if err != nil || res.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, err %v; want Illegal", res.Verdict, err)
	}
	if res.HistoryFile != dir+"/stale.json" || res.VisualFile != dir+"/stale.html" {
		t.Fatalf("saved to %s and %s", res.HistoryFile, res.VisualFile)
	}
	back, err := LoadRecords(res.HistoryFile)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(recs) {
		t.Fatalf("loaded %v, want %v", back, recs)
	}
	if again, _ := Check(back, Options{Dir: t.TempDir()}); again.Verdict != porcupine.Illegal {
		t.Fatalf("reloaded history: %s, want Illegal", again.Verdict)
	}
	html, err := os.ReadFile(res.VisualFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`get(\"x\") → \"a\"`, "node 3 term 7"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("visualization lacks %s", want)
		}
	}
}

func TestLoadRecordsRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"truncated": `[{"client":0,"input":{"kind":"put","key":"x"`,
		"bad kind":  `[{"client":0,"input":{"kind":"cas","key":"x"},"outcome":"ok"}]`,
	} {
		path := dir + "/" + strings.ReplaceAll(name, " ", "_")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRecords(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s", name, err, path)
		}
	}
}

// fakeTB records Verify's failures instead of failing this test.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// TestRecorderCatchesAStaleReplica drives a store through the Recorder
// from concurrent clients. Reads served by the primary are linearizable;
// reads served by a replica that applies writes late are not, and Verify
// fails the test naming the saved files.
func TestRecorderCatchesAStaleReplica(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	run := func(stale bool) (*Recorder, map[Outcome]int) {
		var mu sync.Mutex
		primary, replica := map[string]string{}, map[string]string{}
		rec := NewRecorder()
		var wg sync.WaitGroup
		for c := range 4 {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			wg.Go(func() {
				for i := range 200 {
					key := fmt.Sprintf("k%d", rng.IntN(3))
					if rng.IntN(2) == 0 {
						call := rec.Invoke(c, Input{Kind: Put, Key: key, Value: fmt.Sprintf("c%d-%d", c, i)})
						if rng.IntN(10) == 0 {
							call.Fail() // refused: never applied
							continue
						}
						mu.Lock()
						primary[key] = fmt.Sprintf("c%d-%d", c, i)
						if rng.IntN(4) == 0 { // the replica catches up now and then
							replica[key] = primary[key]
						}
						mu.Unlock()
						call.Return(Output{})
						continue
					}
					call := rec.Invoke(c, Input{Kind: Get, Key: key})
					mu.Lock()
					v := primary[key]
					if stale {
						v = replica[key]
					}
					mu.Unlock()
					call.Note("client %d", c)
					call.Return(Output{Value: v})
				}
			})
		}
		wg.Wait()
		return rec, rec.Counts()
	}

	rec, counts := run(false)
	good := &fakeTB{TB: t}
	if res := Verify(good, rec, t.TempDir()); res.Verdict != porcupine.Ok || len(good.errors) > 0 {
		t.Fatalf("primary reads: %s, %v (seed %d)", res.Verdict, good.errors, seed)
	}
	if counts[OK]+counts[Failed] != 800 || counts[Failed] == 0 {
		t.Fatalf("counts %v, want 800 calls ended, some failed", counts)
	}

	rec, _ = run(true)
	bad := &fakeTB{TB: t}
	res := Verify(bad, rec, t.TempDir())
	if res.Verdict != porcupine.Illegal || len(bad.errors) != 1 || !strings.Contains(bad.errors[0], res.VisualFile) {
		t.Fatalf("stale replica reads: %s, errors %v; want Illegal, one error naming the files (seed %d)", res.Verdict, bad.errors, seed)
	}
	t.Logf("Verify reported: %s", bad.errors[0])
}

func TestCallEndsOnce(t *testing.T) {
	rec := NewRecorder()
	c := rec.Invoke(0, Input{Kind: Put, Key: "x", Value: "a"})
	c.Return(Output{})
	c.Fail()
	c.Unknown()
	if got := rec.Records()[0]; got.Outcome != OK || got.Return < got.Call {
		t.Fatalf("record %+v, want OK with return ≥ call", got)
	}
}
