package display

import (
	"strings"

	"github.com/fatih/color"
)

// Colors puts crmops' colours on text that is already escaped for a
// terminal: colour is added after Terminal, never instead of it, so the
// only escape sequences in coloured output are the colours' own (Visible
// leaves no byte that could start another). The zero value, and NoColor,
// add nothing: the text comes back as it went in, byte for byte.
//
// Whether to colour is the caller's choice (a terminal, NO_COLOR unset):
// see Colorful. The sequences are fatih/color's SGR codes, each undone by
// its own reset code, so a coloured piece ends where it says.
type Colors struct {
	on bool
}

// NoColor adds no colour.
var NoColor = Colors{}

// Colorful colours when on is true.
func Colorful(on bool) Colors { return Colors{on: on} }

// On reports whether c adds colour.
func (c Colors) On() bool { return c.on }

var (
	green  = newColor(color.FgGreen)
	red    = newColor(color.FgRed)
	yellow = newColor(color.FgYellow)
	bold   = newColor(color.Bold)
)

// newColor is a colour that does not look at the process' own stdout or
// NO_COLOR (fatih/color's global default): Colors decides.
func newColor(a ...color.Attribute) *color.Color {
	c := color.New(a...)
	c.EnableColor()
	return c
}

func (c Colors) paint(col *color.Color, escaped string) string {
	if !c.on || escaped == "" {
		return escaped
	}
	return col.Sprint(escaped)
}

// Added is text a change adds (a diff's + line, an inline insertion).
func (c Colors) Added(escaped string) string { return c.paint(green, escaped) }

// Removed is text a change removes (a diff's - line, an inline deletion).
func (c Colors) Removed(escaped string) string { return c.paint(red, escaped) }

// Header is a heading or a label crmops writes.
func (c Colors) Header(escaped string) string { return c.paint(bold, escaped) }

// Decision shows a policy decision or approval mode, escaped here (it is a
// value from a file) and coloured by what it means: auto green; review,
// approved and pending yellow (a person decides or decided); deny, refused
// and rejected red. Any other value is escaped and left uncoloured.
func (c Colors) Decision(decision string) string {
	s := Terminal(decision)
	switch strings.ToLower(decision) {
	case "auto":
		return c.paint(green, s)
	case "review", "approved", "pending":
		return c.paint(yellow, s)
	case "deny", "denied", "refused", "rejected":
		return c.paint(red, s)
	}
	return s
}

// Status shows a change's status in a receipt or an audit, escaped here
// and coloured: applied and already_applied green; stale, failed and
// refused red; open and merged (not run yet) yellow.
func (c Colors) Status(status string) string {
	s := Terminal(status)
	switch strings.ToLower(status) {
	case "applied", "already_applied":
		return c.paint(green, s)
	case "stale", "failed", "refused", "rejected":
		return c.paint(red, s)
	case "open", "merged", "pending":
		return c.paint(yellow, s)
	}
	return s
}
