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
type limiter struct {
	mu       sync.Mutex
	now      func() time.Time
	limit    int
	window   time.Duration
	interval time.Duration // one token per interval
	burst    int           // bucket capacity
	tat      time.Time     // when the bucket will be full again ("theoretical arrival time")
	paused   time.Time     // nothing is sent before this
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	l := &limiter{now: now}
	l.configure(limit, window)
	return l
}

// configure sets the rate to at most limit requests per window.
func (l *limiter) configure(limit int, window time.Duration) {
	l.limit, l.window = limit, window
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
	return at.Sub(now)
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
