package display_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/display"
)

func TestNoColorLeavesTextAsItIs(t *testing.T) {
	for _, c := range []display.Colors{display.NoColor, display.Colorful(false), {}} {
		if c.On() || c.Added("+ a") != "+ a" || c.Removed("- a") != "- a" || c.Header("batch") != "batch" ||
			c.Decision("auto") != "auto" || c.Status("failed") != "failed" {
			t.Errorf("colours added without colour: %+v", c)
		}
	}
}

func TestColorsColourEachKindOfText(t *testing.T) {
	c := display.Colorful(true)
	tests := []struct{ name, got, want string }{
		{"added is green", c.Added("+ VP"), "\x1b[32m+ VP\x1b[39m"},
		{"removed is red", c.Removed("- CTO"), "\x1b[31m- CTO\x1b[39m"},
		{"a header is bold", c.Header("batch"), "\x1b[1mbatch\x1b[22m"},
		{"auto is green", c.Decision("auto"), "\x1b[32mauto\x1b[39m"},
		{"review is yellow", c.Decision("review"), "\x1b[33mreview\x1b[39m"},
		{"approved is yellow", c.Decision("approved"), "\x1b[33mapproved\x1b[39m"},
		{"deny is red", c.Decision("deny"), "\x1b[31mdeny\x1b[39m"},
		{"another decision is left plain", c.Decision("maybe"), "maybe"},
		{"applied is green", c.Status("applied"), "\x1b[32mapplied\x1b[39m"},
		{"stale is red", c.Status("stale"), "\x1b[31mstale\x1b[39m"},
		{"nothing stays nothing", c.Added(""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// fatih/color ends a colour with the reset of its own kind, or
			// the general reset.
			got := strings.ReplaceAll(tt.got, "\x1b[0m", "\x1b[39m")
			if got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// A value's escape sequence is escaped before any colour, so in coloured
// text the only escape sequences are the colours'.
func TestColourNeverUnescapesAValue(t *testing.T) {
	c := display.Colorful(true)
	for _, got := range []string{
		c.Decision("auto\x1b[2J"),
		c.Status("applied\x1b]8;;http://evil\x07"),
		c.Added("+ " + display.Terminal("x\x1b[1A")),
	} {
		rest := got
		for _, code := range []string{"\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[39m", "\x1b[0m"} {
			rest = strings.ReplaceAll(rest, code, "")
		}
		if strings.ContainsAny(rest, "\x1b\x07") || !strings.Contains(rest, "⟨U+001B⟩") {
			t.Errorf("coloured value %q holds a raw escape, or lost its escaped one", got)
		}
	}
}
