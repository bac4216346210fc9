package salesforce

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

// latency is the round trip assumed for the wall-time estimate: a typical
// call to a Salesforce org from outside its data centre.
const latency = 200 * time.Millisecond

// BenchmarkApply runs what a crmops apply of a large batch sends: 10,000
// field changes through CompareAndSet in chunks (apply hands Salesforce
// ApplyChunk changes a call; 100 is its default for other CRMs), then 100 merges, against the double, in default and in
// strict mode. It reports the API calls each used and the wall time they
// would take at 200 ms per call, computed from the count (the client sends
// one call at a time), not slept for real:
//
//	calls        API calls of the whole run (counted by the client; the
//	             double's own count is checked to agree)
//	set-calls    of which for the 10,000 changes
//	merge-calls  of which for the 100 merges
//	wall-s@200ms calls × 200 ms
//
// Every iteration checks that each record holds its new value and was
// written once.
//
//	go test ./internal/crm/salesforce -run '^$' -bench BenchmarkApply -benchtime 1x
func BenchmarkApply(b *testing.B) {
	applyChunk := (&Client{}).ApplyChunk()
	b.Run(fmt.Sprintf("default/apply-chunk=%d", applyChunk), func(b *testing.B) { benchApply(b, false, applyChunk) })
	b.Run("default/chunk=100", func(b *testing.B) { benchApply(b, false, 100) })
	b.Run(fmt.Sprintf("strict/apply-chunk=%d", applyChunk), func(b *testing.B) { benchApply(b, true, applyChunk) })
}

func benchApply(b *testing.B, strictCAS bool, chunk int) {
	const changes, merges = 10_000, 100
	var setCalls, mergeCalls int
	for b.Loop() {
		clock := sftest.NewClock(t0)
		s := sftest.New(sftest.Options{Token: testToken, Now: clock.Now, DailyLimit: 1_000_000,
			Fields: map[string][]string{"Contact": {"Email", "Title"}}})
		ids := make([]string, changes)
		for i := range ids {
			ids[i] = s.Seed("Contact", map[string]any{"Email": fmt.Sprintf("p%d@x.com", i), "Title": "old"})
		}
		pairs := make([][2]string, merges)
		for i := range pairs {
			pairs[i] = [2]string{s.Seed("Contact", nil), s.Seed("Contact", nil)}
		}
		c, err := New(Config{InstanceURL: s.URL, Token: testToken, StrictCAS: strictCAS, Now: clock.Now, Sleep: clock.Sleep})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for from := 0; from < changes; from += chunk {
			reqs := make([]crm.SetRequest, 0, chunk)
			for _, id := range ids[from:min(from+chunk, changes)] {
				reqs = append(reqs, crm.SetRequest{Object: "Contact", Record: id, Field: "Title", Before: "old", After: "Title " + id})
			}
			results, err := c.CompareAndSet(ctx, reqs)
			if err != nil {
				b.Fatal(err)
			}
			for i, r := range results {
				if r.Status != crm.Applied {
					b.Fatalf("change %s: %+v", reqs[i].Record, r)
				}
			}
		}
		setCalls = c.Stats().APICalls()
		mreqs := make([]crm.MergeRequest, merges)
		for i, p := range pairs {
			mreqs[i] = crm.MergeRequest{Object: "Contact", Survivor: p[0], Loser: p[1]}
		}
		results, err := c.Merge(ctx, mreqs)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range results {
			if r.Status != crm.Applied {
				b.Fatalf("merge %d: %+v", i, r)
			}
		}
		mergeCalls = c.Stats().APICalls() - setCalls
		verifyApplied(b, s, ids, pairs)
		if got, want := s.Stats().APICalls, c.Stats().APICalls(); got != want {
			b.Fatalf("the double counted %d API calls, the client %d", got, want)
		}
		c.Close()
		s.Close()
	}
	calls := setCalls + mergeCalls
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(float64(setCalls), "set-calls")
	b.ReportMetric(float64(mergeCalls), "merge-calls")
	b.ReportMetric((time.Duration(calls) * latency).Seconds(), "wall-s@200ms")
}

func verifyApplied(b *testing.B, s *sftest.Server, ids []string, pairs [][2]string) {
	writes := map[string]int{}
	for _, w := range s.Writes() {
		if _, ok := w.Fields["Title"]; ok {
			writes[w.ID]++
		}
	}
	for _, id := range ids {
		fields, _, _, _ := s.Get("Contact", id)
		if fields["Title"] != "Title "+id || writes[id] != 1 {
			b.Fatalf("record %s: Title %v written %d times", id, fields["Title"], writes[id])
		}
	}
	for _, p := range pairs {
		if _, deleted, master, _ := s.Get("Contact", p[1]); !deleted || master != p[0] {
			b.Fatalf("%s not merged into %s", p[1], p[0])
		}
	}
}
