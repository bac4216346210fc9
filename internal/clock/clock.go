// Package clock holds the two ways crmops waits: Sleep, which waits for
// real but gives up when its context ends, and Fake, a clock tests share
// between a client and an API double so that waits cost no real time.
package clock

import (
	"context"
	"sync"
	"time"
)

// Sleep waits d, or until ctx is done, and returns ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fake is a settable clock: its Sleep advances it instead of waiting, so
// rate-limit, retry and polling waits cost no real time while a client and
// its double still agree on what time it is.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a fake clock that starts at start.
func NewFake(start time.Time) *Fake { return &Fake{t: start} }

// Now returns the clock's current time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep advances the clock by d, or returns the context's error if it is
// already done: the signature of the connectors' sleep hooks.
func (c *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
