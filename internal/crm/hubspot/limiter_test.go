package hubspot

import (
	"strconv"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

func TestLimiter(t *testing.T) {
	for _, limit := range []int{1, 2, 10, 100, 190, 250} {
		t.Run("no rolling window holds more than the limit and the steady rate is at least 90% of it, limit "+strconv.Itoa(limit), func(t *testing.T) {
			clock := hubspottest.NewClock(t0)
			l := newLimiter(limit, Window, clock.Now)
			var sent hubspottest.Stats
			for range limit * 20 {
				clock.Advance(l.reserve())
				sent.Accepted = append(sent.Accepted, clock.Now())
			}
			if got := sent.MaxInRollingWindow(Window); got > limit {
				t.Errorf("%d requests in one window, limit %d", got, limit)
			}
			windows := sent.PerWindow(Window)
			steady := windows[1 : len(windows)-1]
			for i, n := range steady {
				if float64(n) < 0.9*float64(limit) && limit >= 10 {
					t.Errorf("window %d: %d requests, under 90%% of %d", i+1, n, limit)
				}
			}
		})
	}

	t.Run("a pause holds requests and resumes without a burst", func(t *testing.T) {
		clock := hubspottest.NewClock(t0)
		l := newLimiter(100, Window, clock.Now)
		l.pause(t0.Add(3 * time.Second))
		if d := l.reserve(); d != 3*time.Second {
			t.Errorf("first wait after pause = %v, want 3s", d)
		}
		clock.Advance(3 * time.Second)
		if d := l.reserve(); d != l.interval {
			t.Errorf("second wait after pause = %v, want one interval %v", d, l.interval)
		}
	})

	t.Run("a stricter limit is adopted and a looser one ignored", func(t *testing.T) {
		l := newLimiter(190, Window, time.Now)
		if l.lower(250, Window) || l.lower(1900, 100*time.Second) {
			t.Error("a looser limit was adopted")
		}
		if !l.lower(100, Window) {
			t.Error("a stricter limit was not adopted")
		}
		if n, w := l.current(); n != 100 || w != Window {
			t.Errorf("limit = %d per %v", n, w)
		}
	})
}

func TestLimiterShare(t *testing.T) {
	clock := hubspottest.NewClock(t0)
	l := newLimiter(190, Window, clock.Now)
	alone := l.interval
	for range 20 {
		clock.Advance(l.reserve())
	}
	sent := clock.Now()

	// HubSpot counts 20 of ours alone: nothing changes.
	l.share(190, Window, 170, 0, sent)
	if l.interval != alone || l.shared != 0 {
		t.Fatalf("alone: interval %v (shared %d), want %v", l.interval, l.shared, alone)
	}
	// 60 counted, 40 of them someone else's: our pace drops to our share,
	// 20/60 of 90% of 190.
	l.share(190, Window, 130, 0, sent)
	if l.shared != 190*9/10*20/60 || l.interval <= alone {
		t.Fatalf("shared: limit %d interval %v, want %d and slower than %v", l.shared, l.interval, 190*9/10*20/60, alone)
	}
	// Remaining no more than what is in flight: the bucket is held back.
	before := l.tat
	l.share(190, Window, 2, 4, sent)
	if !l.tat.After(before) {
		t.Errorf("remaining 2 with 4 in flight did not hold the bucket back")
	}
	// The others are gone: back to the full rate.
	l.share(190, Window, 170, 0, sent)
	if l.interval != alone || l.shared != 0 {
		t.Errorf("others gone: interval %v (shared %d), want %v", l.interval, l.shared, alone)
	}
}
