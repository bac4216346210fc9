package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressIsQuietAndLineOrientedOutsideATerminal(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := New(&out, false, func() time.Time { return clock })
	for i := 1; i <= 100_000; i++ {
		if i%1000 == 0 {
			clock = clock.Add(time.Second) // a thousand records a second
		}
		r.Step("reading contacts", i, 100_000)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) > 12 {
		t.Errorf("%d lines for a 100 s run; want about one per 10 s", len(lines))
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("carriage returns in a log")
	}
	if last := lines[len(lines)-1]; last != "reading contacts: 100000/100000 (100%)" {
		t.Errorf("last line %q; the end of a stage is always reported", last)
	}
}

func TestProgressRedrawsABarOnATerminal(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := New(&out, true, func() time.Time { clock = clock.Add(time.Second); return clock })
	r.Step("reading contacts", 50, 100)
	r.Step("reading contacts", 100, 100)
	r.Done()
	if !strings.Contains(out.String(), "\r") || !strings.Contains(out.String(), "100%") || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("terminal output %q", out.String())
	}
}
