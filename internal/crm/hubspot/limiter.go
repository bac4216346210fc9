package hubspot

import (
	"sync"
	"time"
)

// limiter is a token bucket: tokens refill at a steady rate up to a small
// capacity and each request takes one. It is kept in the GCRA ("virtual
// scheduling") form, one timestamp instead of a token count, which makes
// reservations exact in integer nanoseconds.
//
// HubSpot counts requests in a rolling window (policy TEN_SECONDLY_ROLLING:
// https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines).
// A bucket of capacity b refilled every interval t admits at most
// b + w/t requests in any window of length w, so with t = w/(limit-b) no
// window ever holds more than the limit, wherever it starts. The capacity
// is 2% of the limit (at least 1): the steady rate is then 98% of the limit,
// which leaves room for the network reordering a few requests.
//
// HubSpot's limit is the app's, shared by every process on the token; share
// slows the bucket to this client's part of it when the
// X-HubSpot-RateLimit-Remaining header shows others using the window.
//
// golang.org/x/time/rate was measured against this (BenchmarkLimiter): the
// same throughput (98.4% of the limit), and 150-200 ns less per
// reservation (about 135-180 ns against 330 ns, this one also recording its
// sends for share), which is nothing next to a 100 ms request. It is kept hand-written for what rate.Limiter lacks: holding
// every request until a given time after a 429 and then starting with an
// empty bucket (pause), emptying it on Remaining: 0 (drain), and a request
// interval rounded up to whole nanoseconds so that it never runs faster
// than the limit (rate's float64 tokens put exactly 190 in the worst window,
// this 189).
type limiter struct {
	mu       sync.Mutex
	now      func() time.Time
	limit    int
	window   time.Duration
	interval time.Duration // one token per interval
	burst    int           // bucket capacity
	tat      time.Time     // when the bucket will be full again ("theoretical arrival time")
	paused   time.Time     // nothing is sent before this

	// Sharing the token with other processes (see share).
	sends  []time.Time // when this client's requests were let through, last window only
	shared int         // the pace's limit while others use the window; 0 when alone
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	l := &limiter{now: now}
	l.configure(limit, window)
	return l
}

// configure sets the rate to at most limit requests per window.
func (l *limiter) configure(limit int, window time.Duration) {
	l.limit, l.window = limit, window
	l.shared = 0
	l.pace(limit)
}

// pace sets the bucket to limit requests per window.
func (l *limiter) pace(limit int) {
	window := l.window
	l.burst = max(1, limit/50)
	if limit > l.burst {
		l.interval = window / time.Duration(limit-l.burst)
		if l.interval*time.Duration(limit-l.burst) < window {
			l.interval++ // round up: never faster than the limit
		}
	} else {
		// One request per window, with slack for the window's edges.
		l.interval = window + window/100
	}
}

func (l *limiter) current() (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.window
}

// reserve takes a token and returns how long to wait before using it.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	tolerance := time.Duration(l.burst-1) * l.interval
	at := l.tat.Add(-tolerance)
	if at.Before(now) {
		at = now
	}
	if at.Before(l.paused) {
		at = l.paused
	}
	tat := l.tat
	if tat.Before(at) {
		tat = at
	}
	l.tat = tat.Add(l.interval)
	l.sends = append(l.sends, at)
	if len(l.sends) > 2*l.limit+16 {
		l.trim(now)
	}
	return at.Sub(now)
}

// trim forgets sends older than a window before now.
func (l *limiter) trim(now time.Time) {
	cut := 0
	for cut < len(l.sends) && !l.sends[cut].After(now.Add(-l.window)) {
		cut++
	}
	l.sends = append(l.sends[:0], l.sends[cut:]...)
}

// own counts this client's sends in the window (t-window, t].
func (l *limiter) own(t, from time.Time) int {
	n := 0
	for _, s := range l.sends {
		if s.After(from) && !s.After(t) {
			n++
		}
	}
	return n
}

// share adapts the pace to the app's rate limit as HubSpot reports it for a
// request sent at sent: max requests per window, remaining of them left,
// and inFlight more of this client's requests still on their way.
//
// HubSpot's count is everyone's on the token; this client's part of it is
// what it sent in the window before sent. Whatever is beyond that (with a
// few requests' tolerance for the skew between send and arrival times) is
// other processes'. While there are any, the pace is this client's share
// of 90% of max, mine/(mine+others) of it (at least 5% of the limit), so
// that processes that all do this add up to 90% of max, the rest a margin
// for their requests' jitter: the total is what adjusts, not the split.
// When remaining is at most the requests in flight (this client's, scaled
// up by everyone's count over its own), the window is about to fill: the
// bucket is held back one interval per request out beyond remaining.
func (l *limiter) share(max_ int, window time.Duration, remaining, inFlight int, sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trim(l.now())
	mine := l.own(sent, sent.Add(-window))
	others := max_ - remaining - mine
	tolerance := l.burst + 2
	if others <= tolerance {
		if l.shared != 0 {
			l.shared = 0
			l.pace(l.limit)
		}
		return
	}
	limit := min(l.limit, max(l.limit/20, 1, max_*9/10*mine/(mine+others)))
	if limit != l.shared {
		l.shared = limit
		l.pace(limit)
	}
	// Everyone's requests in flight, guessing that the others have as many
	// out per request of theirs as this client.
	out := max(inFlight, 0) * (mine + others) / max(mine, 1)
	if remaining <= out {
		hold := l.now().Add(time.Duration(out+1-remaining) * l.interval)
		if hold.After(l.tat) {
			l.tat = hold
		}
	}
}

// pause holds every request until t, after which the bucket starts empty
// (no burst right after HubSpot said stop).
func (l *limiter) pause(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.paused) {
		l.paused = t
	}
	empty := t.Add(time.Duration(l.burst-1) * l.interval)
	if empty.After(l.tat) {
		l.tat = empty
	}
}

// drain empties the bucket: the next request waits one interval. Used when
// HubSpot reports no requests remaining in its window although the bucket
// had tokens (someone else is using the app's budget).
func (l *limiter) drain() {
	l.mu.Lock()
	defer l.mu.Unlock()
	full := l.now().Add(time.Duration(l.burst) * l.interval)
	if full.After(l.tat) {
		l.tat = full
	}
}

// lower adopts limit per window if that is stricter than the current rate.
func (l *limiter) lower(limit int, window time.Duration) bool {
	if limit <= 0 || window <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// limit/window < l.limit/l.window, without division.
	if int64(limit)*int64(l.window) >= int64(l.limit)*int64(window) {
		return false
	}
	l.configure(limit, window)
	return true
}
