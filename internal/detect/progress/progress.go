// Package progress shows how far a long detector run is: a bar redrawn in
// place on a terminal, and a plain line every so often elsewhere (CI logs),
// so logs stay short and greppable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Reporter implements detect.Progress.
type Reporter struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	now      func() time.Time
	every    time.Duration
	last     time.Time
	stage    string
	drawn    bool
}

// New reports to w; terminal says whether w is a person's terminal.
func New(w io.Writer, terminal bool, now func() time.Time) *Reporter {
	every := 10 * time.Second
	if terminal {
		every = 100 * time.Millisecond
	}
	return &Reporter{w: w, terminal: terminal, now: now, every: every}
}

// IsTerminal reports whether f is a character device (a terminal), the
// standard library's way, with no dependency.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Step records progress; it draws at most every so often.
func (r *Reporter) Step(stage string, done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if stage == r.stage && now.Sub(r.last) < r.every && (total == 0 || done < total) {
		return
	}
	if stage != r.stage && r.drawn && r.terminal {
		fmt.Fprintln(r.w)
	}
	r.stage, r.last, r.drawn = stage, now, true
	if !r.terminal {
		if total > 0 {
			fmt.Fprintf(r.w, "%s: %d/%d (%d%%)\n", stage, done, total, done*100/total)
		} else {
			fmt.Fprintf(r.w, "%s: %d\n", stage, done)
		}
		return
	}
	if total > 0 {
		const width = 30
		filled := min(width, done*width/max(total, 1))
		fmt.Fprintf(r.w, "\r%-28s [%s%s] %3d%% %d/%d", stage, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done*100/total, done, total)
	} else {
		fmt.Fprintf(r.w, "\r%-28s %d", stage, done)
	}
}

// Done ends the current bar's line on a terminal.
func (r *Reporter) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.terminal && r.drawn {
		fmt.Fprintln(r.w)
	}
	r.drawn, r.stage = false, ""
}
