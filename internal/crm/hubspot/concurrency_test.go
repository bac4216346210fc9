package hubspot

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

// TestConcurrentCompareAndSet runs a large CompareAndSet, whose batches go
// out side by side and come back in random order (the double answers after
// a random real delay), through lost answers, 5xx, per-record failures,
// stale values and a second change of the same field, and checks that every
// result is the one for its own request and every value was written
// exactly as often as it should be.
func TestConcurrentCompareAndSet(t *testing.T) {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	latency := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(rng.IntN(3000)) * time.Microsecond
	}
	e := newEnv(t, hubspottest.Options{Latency: latency}, func(c *Config) { c.MaxInFlight = 8 })
	const n = 1200 // 12 batches of contacts, 12 of companies
	var reqs []crm.SetRequest
	type want = casWant
	var wants []want
	var failIDs []string
	for _, object := range []string{"contacts", "companies"} {
		for i := range n {
			id := strconv.Itoa(1_000 + i)
			old := fmt.Sprintf("%s-old-%d", object, i)
			e.s.Seed(object, id, kv("jobtitle", old, "city", "city-"+id))
			failed := i%13 == 0
			if failed {
				failIDs = append(failIDs, id)
			}
			newer := fmt.Sprintf("%s-new-%d", object, i)
			reqs = append(reqs, crm.SetRequest{Object: object, Record: id, Field: "jobtitle", Before: old, After: newer})
			if failed {
				wants = append(wants, want{crm.Failed, old, 0})
			} else {
				wants = append(wants, want{crm.Applied, old, 1})
			}
			if i%7 == 0 { // a second change of the same field, judged after the first
				reqs = append(reqs, crm.SetRequest{Object: object, Record: id, Field: "jobtitle", Before: newer, After: newer + "-again"})
				if failed {
					wants = append(wants, want{crm.Stale, old, 0})
				} else {
					wants = append(wants, want{crm.Applied, newer, 1})
				}
			}
			if i%11 == 0 { // someone else changed it
				reqs = append(reqs, crm.SetRequest{Object: object, Record: id, Field: "city", Before: "elsewhere", After: "x"})
				wants = append(wants, want{crm.Stale, "city-" + id, 0})
			}
		}
		e.s.FailUpdates(object, "VALIDATION_ERROR", "nope", failIDs...)
		failIDs = nil
	}
	// Shuffle the requests so that chunks interleave objects and rounds;
	// wants moves with them.
	perm := rng.Perm(len(reqs))
	shuffled, shuffledWants := make([]crm.SetRequest, len(reqs)), make([]want, len(reqs))
	for to, from := range perm {
		shuffled[to], shuffledWants[to] = reqs[from], wants[from]
	}
	// Keep each field's requests in their original order (rounds follow
	// request order).
	reqs, wants = reorderRounds(shuffled, shuffledWants)

	e.s.LoseNextWrites(3)
	e.s.FailNext(500, 503, 502)
	got, err := e.c.CompareAndSet(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(got), len(reqs))
	}
	written := map[string]int{}
	for _, w := range e.s.Writes() {
		written[w.Object+"/"+w.ID+"/"+w.Property+"="+w.Value]++
	}
	for i, r := range reqs {
		w := wants[i]
		if got[i].Status != w.status || got[i].Observed != w.observed {
			t.Errorf("request %d (%s/%s %s %q->%q) = %+v, want %v observed %q", i, r.Object, r.Record, r.Field, r.Before, r.After, got[i], w.status, w.observed)
		}
		if n := written[r.Object+"/"+r.Record+"/"+r.Field+"="+r.After]; n != w.writes {
			t.Errorf("request %d (%s/%s %s=%q) written %d times, want %d", i, r.Object, r.Record, r.Field, r.After, n, w.writes)
		}
	}
}

type casWant struct {
	status   crm.Status
	observed string
	writes   int
}

// reorderRounds keeps the shuffled order but puts the two changes of one
// object/record/field back in their original relative order (the second's
// Before is the first's After), moving wants along.
func reorderRounds(reqs []crm.SetRequest, wants []casWant) ([]crm.SetRequest, []casWant) {
	type key struct{ o, r, f string }
	pos := map[key][]int{}
	for i, r := range reqs {
		k := key{r.Object, r.Record, r.Field}
		pos[k] = append(pos[k], i)
	}
	for _, ps := range pos {
		if a, b := ps[0], ps[len(ps)-1]; len(ps) == 2 && reqs[a].Before == reqs[b].After {
			reqs[a], reqs[b] = reqs[b], reqs[a]
			wants[a], wants[b] = wants[b], wants[a]
		}
	}
	return reqs, wants
}
