package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivo/uniseg"
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

// screenLines splits terminal output into what was drawn: each redraw
// (after a carriage return) and each line, clear-line codes left out.
func screenLines(s string) []string {
	s = strings.ReplaceAll(s, "\x1b[2K", "")
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, d := range strings.Split(line, "\r") {
			if strings.TrimSpace(d) != "" {
				out = append(out, d)
			}
		}
	}
	return out
}

func TestLabelsArePaddedOrCutToOneWidth(t *testing.T) {
	for _, stage := range []string{"a", "dedupe: reading contacts", "dedupe: contacts blocking by email local part and more", "grouping 東京の連絡先の重複を探しています"} {
		if got := uniseg.StringWidth(Label(stage)); got != LabelWidth {
			t.Errorf("Label(%q) = %q, %d columns; want %d", stage, Label(stage), got, LabelWidth)
		}
	}
	if got := Label("dedupe: contacts blocking by email local part"); !strings.HasPrefix(got, "dedupe: contact") || !strings.Contains(got, "…") || !strings.HasSuffix(got, "local part") {
		t.Errorf("a cut label keeps neither its start nor its end, or does not say it was cut: %q", got)
	}
	if got := Label("evil\x1b[2J"); strings.Contains(got, "\x1b") {
		t.Errorf("a label is not escaped: %q", got)
	}
}

func TestBarsStartInOneColumnWhateverTheStage(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := New(&out, true, func() time.Time { clock = clock.Add(time.Second); return clock })
	r.Step("read", 10, 100)
	r.Step("read", 100, 100)
	r.Step("dedupe: contacts blocking by email local part", 5, 10)
	r.Step("dedupe: contacts blocking by email local part", 10, 10)
	r.Done()
	col := -1
	for _, l := range screenLines(out.String()) {
		i := strings.Index(l, "%")
		if i < 0 {
			continue
		}
		at := uniseg.StringWidth(l[:i])
		if col >= 0 && at != col {
			t.Errorf("the percentage moved from column %d to %d:\n%q", col, at, out.String())
		}
		col = at
	}
	if col < 0 {
		t.Fatalf("no bar drawn: %q", out.String())
	}
	if !strings.Contains(out.String(), "read") || !strings.Contains(out.String(), "…") {
		t.Errorf("labels missing: %q", out.String())
	}
}

func TestAStageWithoutATotalSpinsAndEndsDone(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out lockedBuffer
	r := New(&out, true, func() time.Time { clock = clock.Add(time.Second); return clock })
	r.Step("dedupe: grouping contacts", 0, 0)
	time.Sleep(350 * time.Millisecond) // the spinner redraws by itself meanwhile
	r.Step("dedupe: reading groups of contacts", 5, 10)
	r.Step("dedupe: reading groups of contacts", 10, 10)
	r.Done()
	got := screenLines(out.String())
	var grouping []string
	for _, l := range got {
		if strings.Contains(l, "grouping") {
			grouping = append(grouping, l)
		}
	}
	if len(grouping) < 3 {
		t.Errorf("the grouping stage was drawn %d times; a spinner redraws while it runs:\n%q", len(grouping), got)
	}
	if last := grouping[len(grouping)-1]; !strings.Contains(last, "grouping contacts") || !strings.Contains(last, " done [") {
		t.Errorf("the grouping stage's last line %q; want it done, with its time", last)
	}
	for _, l := range grouping {
		if strings.Contains(l, "contacts 0") || strings.Contains(l, "(0)") {
			t.Errorf("a stage without a count shows 0: %q", l)
		}
	}
}

func TestStopLeavesAFailedStageWhereItWas(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := New(&out, true, func() time.Time { clock = clock.Add(time.Second); return clock })
	r.Step("reading contacts", 40, 100)
	r.Stop()
	if strings.Contains(out.String(), "100%") || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("a stopped stage: %q", out.String())
	}
}

func TestOutsideATerminalAStageWithoutACountSaysItStarted(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := New(&out, false, func() time.Time { return clock })
	r.Step("dedupe: grouping contacts", 0, 0)
	r.Step("dedupe: reading groups of contacts", 10, 10)
	r.Done()
	if want := "dedupe: grouping contacts: started\ndedupe: reading groups of contacts: 10/10 (100%)\n"; out.String() != want {
		t.Errorf("log %q, want %q", out.String(), want)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestABarWithATotalIsRedrawnWhileItsCountStands(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out lockedBuffer
	r := New(&out, true, func() time.Time { clock = clock.Add(time.Second); return clock })
	r.Step("dedupe: scoring contacts", 0, 914395)
	time.Sleep(1300 * time.Millisecond)
	r.Done()
	drawn := 0
	for _, l := range screenLines(out.String()) {
		if strings.Contains(l, "scoring contacts") && strings.Contains(l, "0/914395") {
			drawn++
		}
	}
	if drawn < 2 {
		t.Errorf("a bar whose count stands for a second was drawn %d times; its time so far should move:\n%q", drawn, out.String())
	}
}

func TestAStageCountedWithoutATotalEndsOnItsSpinnersLine(t *testing.T) {
	clock := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out lockedBuffer
	r := New(&out, true, func() time.Time { clock = clock.Add(time.Second); return clock })
	r.Step("dedupe: reading contacts", 50000, 0)
	r.Step("dedupe: reading contacts", 200000, 200000)
	r.Step("dedupe: scoring contacts", 0, 10)
	r.Done()
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "dedupe: reading contacts         done (200000) [1s]") {
		t.Errorf("the reading stage's line:\n%q", out.String())
	}
}
