package sftest

import (
	"time"

	"github.com/crmops/crmops/internal/clock"
)

// Clock is a fake clock shared by a test's client and double (clock.Fake).
type Clock = clock.Fake

// NewClock returns a clock that starts at start.
func NewClock(start time.Time) *Clock { return clock.NewFake(start) }
