package hubspot

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/clock"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

// BenchmarkApply10k runs 10,000 set changes through CompareAndSet in chunks
// of 100, as apply does, against the double enforcing a rolling-window rate
// limit, and reports how close to the limit the client ran:
//
//	req/window      accepted requests per window, averaged over the run
//	%limit          that as a share of the limit (target: at least 90)
//	min-full-window the fewest requests in a full window after the first
//	429s-after-1st  429 answers after the first window (target: 0)
//	max-rolling     the most requests in any rolling window (must be <= limit)
//
// Two clocks:
//
//   - fake: client and double share a fake clock that only moves when the
//     client sleeps, at HubSpot's real 10 s window. Deterministic, instant,
//     and exact about the limiter, but network time is zero.
//   - real: the wall clock with the window shrunk to 1 s (same limit), so a
//     run takes about two seconds and includes real HTTP round trips,
//     scheduling and timer jitter.
//
// Every iteration checks the double's state: each record was written exactly
// once and holds its new value.
//
//	go test ./internal/crm/hubspot -run '^$' -bench BenchmarkApply10k
func BenchmarkApply10k(b *testing.B) {
	b.Run("fake-clock/100-per-10s", func(b *testing.B) { benchApply(b, false, 100, 10*time.Second) })
	b.Run("real-clock/100-per-1s", func(b *testing.B) { benchApply(b, true, 100, time.Second) })
}

func benchApply(b *testing.B, realClock bool, limit int, window time.Duration) {
	const changes, chunk = 10_000, 100
	var last hubspottest.Stats
	var elapsed time.Duration
	for b.Loop() {
		now, sleepFn := time.Now, clock.Sleep
		if !realClock {
			clock := hubspottest.NewClock(t0)
			now, sleepFn = clock.Now, clock.Sleep
		}
		s := hubspottest.New(hubspottest.Options{Token: testToken, RequestsPer10s: limit, Window: window, Now: now})
		ids := make([]string, changes)
		for i := range ids {
			ids[i] = strconv.Itoa(1_000_001 + i)
			s.Seed("contacts", ids[i], map[string]string{"email": fmt.Sprintf("p%d@x.com", i)})
		}
		c, err := New(Config{BaseURL: s.URL, Token: testToken, RequestsPer10s: limit, Now: now, Sleep: sleepFn})
		if err != nil {
			b.Fatal(err)
		}
		c.lim.configure(limit, window) // the real-clock run's shorter window
		start := now()
		for from := 0; from < changes; from += chunk {
			reqs := make([]crm.SetRequest, 0, chunk)
			for _, id := range ids[from : from+chunk] {
				reqs = append(reqs, crm.SetRequest{Object: "contacts", Record: id, Field: "jobtitle", After: "Title " + id})
			}
			results, err := c.CompareAndSet(context.Background(), reqs)
			if err != nil {
				b.Fatal(err)
			}
			for i, r := range results {
				if r.Status != crm.Applied {
					b.Fatalf("change %s: %+v", reqs[i].Record, r)
				}
			}
		}
		elapsed = now().Sub(start)
		verifyApplied(b, s, ids)
		last = s.Stats()
		c.Close()
		s.Close()
	}
	// Full windows after the first (whose bucket starts full) and before the
	// last (which is partial).
	perWindow := last.PerWindow(window)
	minFull := limit
	for _, n := range perWindow[1 : len(perWindow)-1] {
		minFull = min(minFull, n)
	}
	rate := float64(len(last.Accepted)) * float64(window) / float64(elapsed)
	b.ReportMetric(rate, "req/window")
	b.ReportMetric(100*rate/float64(limit), "%limit")
	b.ReportMetric(float64(minFull), "min-full-window")
	b.ReportMetric(float64(last.RateLimitedAfter(last.Accepted[0].Add(window))), "429s-after-1st")
	b.ReportMetric(float64(last.MaxInRollingWindow(window)), "max-rolling")
	b.ReportMetric(float64(len(last.Accepted)), "requests")
	b.ReportMetric(elapsed.Seconds(), "clock-s")
}

// verifyApplied checks that every change is in the double exactly once.
func verifyApplied(b *testing.B, s *hubspottest.Server, ids []string) {
	writes := map[string]int{}
	for _, w := range s.Writes() {
		if w.Property == "jobtitle" {
			writes[w.ID]++
		}
	}
	for _, id := range ids {
		props, _, _ := s.Get("contacts", id)
		if props["jobtitle"] != "Title "+id || writes[id] != 1 {
			b.Fatalf("record %s: jobtitle %q written %d times", id, props["jobtitle"], writes[id])
		}
	}
}
