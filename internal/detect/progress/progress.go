// Package progress shows how far a long run is (a detector, a seed): on a
// terminal a bar drawn by github.com/schollz/progressbar, redrawn in place,
// or a spinner with the time so far when the total is unknown; elsewhere
// (CI logs) a plain line every so often, so logs stay short and greppable.
//
// Stage labels are padded or cut to one width (LabelWidth), so that every
// bar of a run starts in the same column whatever its stage is called.
// A stage ends when the next one starts, or at Done: on a terminal its
// line then shows it finished, with the time it took.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rivo/uniseg"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/crmops/crmops/internal/display"
)

// LabelWidth is the width, in terminal columns, every stage label is
// padded or cut to on a terminal.
const LabelWidth = 32

// barWidth is the bar's own width in columns; the library narrows it on a
// narrower terminal.
const barWidth = 20

// Reporter implements detect.Progress.
type Reporter struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	now      func() time.Time
	every    time.Duration

	// Outside a terminal: the stage last printed and when.
	last  time.Time
	stage string

	// On a terminal: the stage drawn, its bar, when it started, and its
	// total (0: unknown) and count so far.
	bar     *progressbar.ProgressBar
	stop    chan struct{} // ends the redraws of a bar with a total
	started time.Time
	total   int
	done    int
}

// New reports to w; terminal says whether w is a person's terminal. now is
// the clock that paces the lines outside a terminal and times the stages.
func New(w io.Writer, terminal bool, now func() time.Time) *Reporter {
	every := 10 * time.Second
	if terminal {
		every = 100 * time.Millisecond
	}
	return &Reporter{w: w, terminal: terminal, now: now, every: every}
}

// IsTerminal reports whether f is a terminal (golang.org/x/term).
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Step records progress: done of total (0: unknown) in stage.
func (r *Reporter) Step(stage string, done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.terminal {
		r.draw(stage, done, total)
		return
	}
	now := r.now()
	if stage == r.stage && now.Sub(r.last) < r.every && (total == 0 || done < total) {
		return
	}
	r.stage, r.last = stage, now
	label := display.Terminal(stage) // a log is read on a terminal too
	switch {
	case total > 0:
		fmt.Fprintf(r.w, "%s: %d/%d (%d%%)\n", label, done, total, done*100/total)
	case done == 0:
		fmt.Fprintf(r.w, "%s: started\n", label)
	default:
		fmt.Fprintf(r.w, "%s: %d\n", label, done)
	}
}

// Done ends the current stage: on a terminal its line shows it finished.
func (r *Reporter) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finish("\n")
	r.stage = ""
}

// Stop ends the current stage where it is, for a run that failed: a bar
// keeps its count, a spinner says the stage stopped.
func (r *Reporter) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil && r.total > 0 {
		r.release() // its last drawing stays
		io.WriteString(r.w, "\n")
	}
	if r.bar != nil {
		bar := r.release()
		took := r.now().Sub(r.started).Round(time.Second)
		bar.Finish()
		fmt.Fprintf(r.w, "\r\x1b[2K  %s stopped [%s]\n", Label(r.stage), took)
	}
	r.stage = ""
}

// Label pads or cuts stage to LabelWidth columns, escaped for a terminal
// (a stage may name an object from crmops.yaml). A long label is cut in
// the middle, "…" standing for what is left out, so that both the
// detector it starts with and the rule or object it ends with stay.
func Label(stage string) string {
	s := display.Terminal(stage)
	w := uniseg.StringWidth(s)
	if w <= LabelWidth {
		return s + strings.Repeat(" ", LabelWidth-w)
	}
	var clusters []string
	var widths []int
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		clusters = append(clusters, g.Str())
		widths = append(widths, g.Width())
	}
	room := LabelWidth - 1 // the "…"
	headRoom := room / 2
	var head, tail strings.Builder
	cols, i := 0, 0
	for ; i < len(clusters) && cols+widths[i] <= headRoom; i++ {
		cols += widths[i]
		head.WriteString(clusters[i])
	}
	var back []string
	for j := len(clusters) - 1; j >= i && cols+widths[j] <= room; j-- {
		cols += widths[j]
		back = append(back, clusters[j])
	}
	for j := len(back) - 1; j >= 0; j-- {
		tail.WriteString(back[j])
	}
	return head.String() + "…" + tail.String() + strings.Repeat(" ", room-cols)
}

// draw shows stage on the terminal: a new line for a new stage, the
// same line redrawn for the same one.
func (r *Reporter) draw(stage string, done, total int) {
	if total > 0 {
		done = min(max(done, 0), total)
	}
	if r.bar != nil && stage == r.stage && (total > 0) == (r.total > 0) {
		if total > 0 && total != r.total {
			r.bar.ChangeMax(total)
			r.total = total
		}
		r.done = done
		if total > 0 {
			r.bar.Set(done)
		} else {
			r.bar.Describe(r.spinnerLabel())
		}
		return
	}
	if r.bar != nil && stage == r.stage {
		if total > 0 && done == total {
			// A stage that counted without a total reports its end:
			// its spinner's line says so, with its time.
			r.done = done
			r.finish("\n")
			r.stage = ""
			return
		}
		// The same stage now knows its total (or no longer does): a new
		// bar on the same line.
		r.finish("\r\x1b[2K")
	} else {
		r.finish("\n")
	}
	r.stage, r.total, r.done, r.started = stage, total, done, r.now()
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(r.w),
		progressbar.OptionSetWidth(barWidth),
		progressbar.OptionThrottle(r.every),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
	}
	if total > 0 {
		// The spinner of other stages stands where "  " does: every
		// label starts in the same column.
		// Drawn by the first Set (a blank drawing first would hold the
		// first count back for the throttle's time), then redrawn every
		// second, so the time so far moves between counts too.
		// The time so far, not the library's prediction: a stage that
		// reports no count until it ends (scoring) would be predicted to
		// be done at once.
		r.bar = progressbar.NewOptions(total, append(opts,
			progressbar.OptionSetDescription("  "+Label(stage)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true))...)
		r.bar.Set(done)
		r.stop = make(chan struct{})
		go r.redraw(r.bar, r.stop)
		return
	}
	// Unknown total: a spinner and the time so far, redrawn by the
	// library every 100 ms, so a long stage that reports no count (a
	// grouping) is seen to be running; the count so far, when there is
	// one, follows the label.
	// The blank drawing starts the bar before the library's redraws do.
	r.bar = progressbar.NewOptions(-1, append(opts,
		progressbar.OptionSetDescription(r.spinnerLabel()),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSpinnerType(9),
		progressbar.OptionSetRenderBlankState(true))...)
}

// redraw redraws bar every second until stop is closed.
func (r *Reporter) redraw(bar *progressbar.ProgressBar, stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.mu.Lock()
			if r.bar == bar {
				bar.Add(0)
			}
			r.mu.Unlock()
		}
	}
}

// release forgets the bar drawn, stopping its redraws.
func (r *Reporter) release() *progressbar.ProgressBar {
	bar := r.bar
	r.bar = nil
	if r.stop != nil {
		close(r.stop)
		r.stop = nil
	}
	return bar
}

// spinnerLabel is the label of the stage drawn without a total, with the
// count so far when there is one.
func (r *Reporter) spinnerLabel() string {
	if r.done > 0 {
		return Label(r.stage) + fmt.Sprintf(" (%d)", r.done)
	}
	return Label(r.stage)
}

// finish ends the bar drawn, if any, showing its stage finished and the
// time it took, then writes sep ("\n": the next stage on a new line).
func (r *Reporter) finish(sep string) {
	if r.bar == nil {
		return
	}
	bar := r.release()
	took := r.now().Sub(r.started).Round(time.Second)
	bar.Finish() // a bar shows 100%; a spinner stops its redraws
	if r.total <= 0 {
		// A spinner stopped mid-turn says nothing: the stage's own line.
		line := "  " + Label(r.stage) + " done"
		if r.done > 0 {
			line += fmt.Sprintf(" (%d)", r.done)
		}
		fmt.Fprintf(r.w, "\r\x1b[2K%s [%s]", line, took)
	}
	io.WriteString(r.w, sep)
}
