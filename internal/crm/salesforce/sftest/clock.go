package sftest

import (
	"context"
	"sync"
	"time"
)

// Clock is a fake clock shared by a test's client and double: Sleep
// advances it instead of waiting, so retry and polling waits cost no real time
// while both sides still agree on what time it is.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that starts at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep advances the clock by d, or returns the context's error if it is
// already done. It has the signature a client's sleep hook expects.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
