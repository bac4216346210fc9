// Package display is the one path by which a value crmops did not write
// itself (a CRM value, or anything a proposer put in a batch: source,
// reason, record ids, titles) reaches a reader: a terminal or a GitHub
// Markdown page. A value is data, never markup: it is escaped once, here, at
// the boundary, for the destination the function names.
//
// Every destination starts from Visible: characters a reader cannot see, or
// that change how the text around them is shown (control characters, bidi
// overrides, zero-width characters, line separators, invalid UTF-8), are
// replaced by a visible token such as ⟨U+202E⟩, so that what a reviewer
// reads is what will be written. The token's opening bracket ⟨ is itself
// shown as ⟨U+27E8⟩ when a value contains it, so a token in the output
// always comes from crmops and never from a value pretending to be one.
//
// The package imports nothing of crmops: every renderer can use it.
package display

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Visible returns s on one line with every character that is invisible, or
// that could move the cursor, reorder or hide the text around it, shown as
// ⟨U+XXXX⟩ (hex code point), and every byte that is not valid UTF-8 as
// ⟨0xNN⟩. Shown this way:
//   - control characters, C0 and C1, including ESC, BEL, CR, LF and TAB
//     (a tab misaligns columns and hides a run of spaces; a line feed would
//     let a value start a line of its own);
//   - format characters (Unicode category Cf): bidi embeddings, overrides,
//     isolates and marks, zero-width space, joiner and non-joiner, word
//     joiner, invisible operators, byte-order mark, soft hyphen, tag
//     characters;
//   - line and paragraph separators (U+2028, U+2029);
//   - other default-ignorable characters that render as nothing (combining
//     grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian
//     free variation selectors);
//   - ⟨ itself, so the tokens stay unambiguous.
//
// Variation selectors (U+FE00–U+FE0F) are kept: they only choose the glyph
// of the character before them (text or emoji presentation) and cannot hide
// text. Visible is safe for a terminal: no byte of its result can start an
// escape sequence.
func Visible(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	writeVisible(&b, s)
	return b.String()
}

// Terminal makes s safe to print on one terminal line: it is Visible, so a
// value cannot move the cursor, erase a line, set a title, write a
// hyperlink (OSC 8), ring the bell or reorder the line. The name says the
// destination at the call site; printing with "%s" and Terminal(v) is the
// only way a value goes to a terminal.
func Terminal(s string) string { return Visible(s) }

// TerminalLines is Terminal for a value shown over several lines (a diff,
// a long text): s split at its line feeds, each line Visible. A CR is shown
// as ⟨U+000D⟩, also before an LF: a reader sees the value's line endings.
func TerminalLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Visible(l)
	}
	return lines
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			for _, r := range s[i:] {
				if r == utf8.RuneError || hidden(r) {
					return true
				}
			}
			return false
		}
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

func writeVisible(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, "⟨0x%02X⟩", s[i])
		case hidden(r):
			fmt.Fprintf(b, "⟨U+%04X⟩", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

// hidden reports a rune Visible shows as a token.
func hidden(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x80:
		return false
	case r == '⟨':
		return true
	case r >= 0x80 && r <= 0x9f: // C1, including CSI (U+009B) and OSC (U+009D)
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	case r >= 0xFE00 && r <= 0xFE0F: // variation selectors: kept, see Visible
		return false
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Cc, r):
		return true
	}
	switch r {
	case 0x034F, // combining grapheme joiner
		0x115F, 0x1160, 0x3164, 0xFFA0, // Hangul fillers
		0x17B4, 0x17B5, // Khmer inherent vowels
		0x180B, 0x180C, 0x180D, 0x180F: // Mongolian free variation selectors
		return true
	}
	// Unassigned format-like code points Go's tables may not know yet, kept
	// hidden by their ranges in the Unicode standard.
	return r >= 0x2060 && r <= 0x206F || r >= 0xFFF0 && r <= 0xFFF8 || r >= 0xE0000 && r <= 0xE0FFF
}
