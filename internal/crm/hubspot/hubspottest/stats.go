package hubspottest

import (
	"maps"
	"slices"
	"time"
)

// Stats is what the double saw, for tests and the benchmark.
type Stats struct {
	// Requests counts every request that reached the double, including
	// rejected ones.
	Requests int
	// Accepted holds the arrival time of every request counted against the
	// rate limit (everything that got past authentication and was not
	// answered 429), in arrival order.
	Accepted []time.Time
	// RateLimited holds the arrival time of every 429 answer.
	RateLimited []time.Time
	// ByEndpoint counts requests per "METHOD route", e.g.
	// "POST /crm/v3/objects/{object}/batch/update".
	ByEndpoint map[string]int
}

func (s Stats) clone() Stats {
	s.Accepted = slices.Clone(s.Accepted)
	s.RateLimited = slices.Clone(s.RateLimited)
	s.ByEndpoint = maps.Clone(s.ByEndpoint)
	return s
}

// PerWindow counts accepted requests in consecutive windows of length w
// starting at the first accepted request.
func (s Stats) PerWindow(w time.Duration) []int {
	if len(s.Accepted) == 0 || w <= 0 {
		return nil
	}
	start := s.Accepted[0]
	var counts []int
	for _, at := range s.Accepted {
		k := int(at.Sub(start) / w)
		for len(counts) <= k {
			counts = append(counts, 0)
		}
		counts[k]++
	}
	return counts
}

// MaxInRollingWindow is the largest number of accepted requests that
// arrived within any window (t-w, t]: what a rolling-window limit judges.
func (s Stats) MaxInRollingWindow(w time.Duration) int {
	best, lo := 0, 0
	for hi, at := range s.Accepted {
		for !s.Accepted[lo].After(at.Add(-w)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// RateLimitedAfter counts 429 answers given at or after t.
func (s Stats) RateLimitedAfter(t time.Time) int {
	n := 0
	for _, at := range s.RateLimited {
		if !at.Before(t) {
			n++
		}
	}
	return n
}
