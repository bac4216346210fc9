package display

import "strings"

// Markdown makes s literal text for GitHub Flavored Markdown, on one line,
// in an inline context: a table cell, or text after crmops' own words in a
// paragraph, list item or heading. s is first made Visible (a line feed is
// shown as ⟨U+000A⟩, so a value never starts a line or a block), then every
// ASCII character that could start markup is backslash-escaped, which
// CommonMark defines as always literal, in a table cell too:
//
//	\  the escape itself        |  the end of a table cell
//	`  a code span              *  _  ~  emphasis, strikethrough
//	[  ]  !  links, images, footnotes, task boxes
//	<  >  raw HTML, comments, autolinks     &  entities
//	:  URL autolinks (http:)    @  e-mail autolinks
//	$  GitHub's math            #  (heading, when first on a line)
//
// and the '.' of "www." (a www autolink). A leading '-', '+' or '=', and
// the '.' or ')' after leading digits, are escaped too: a second guard, so
// that text placed first on a line does not become a list item, a
// thematic break or a setext underline. The first guard is the caller's:
// a value is never placed first on a line (leading spaces could still make
// indented code there).
//
// Other punctuation ('/', '-', '.', ',', ...) is left as it is, so file
// names and dates stay readable in the page's source.
//
// Markdown cannot stop what GitHub does to text after rendering it:
// @mentions, :emoji: shortcodes and #123 references are found in the text
// of the page, escaped or not, except inside code. Use MarkdownCode for a
// value from a proposer, which GitHub leaves alone there.
func Markdown(s string) string { return escapeMarkdown(Visible(s)) }

// escapeMarkdown escapes v, which is already Visible (Visible is not
// idempotent: it shows the ⟨ of its own tokens).
func escapeMarkdown(v string) string {
	var b strings.Builder
	b.Grow(len(v) + len(v)/8 + 2)
	leadingDigits := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\\', '|', '`', '*', '_', '~', '[', ']', '!', '<', '>', '&', ':', '@', '$', '#':
			b.WriteByte('\\')
		case '.':
			if i > 0 && (leadingDigits || v[i-1] == 'w' || v[i-1] == 'W') {
				b.WriteByte('\\')
			}
		case ')':
			if i > 0 && leadingDigits {
				b.WriteByte('\\')
			}
		case '-', '+', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
		}
		if c < '0' || c > '9' {
			leadingDigits = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// MarkdownCode shows s as code: <code>, then Markdown(s), then </code>.
// Between the two tags GitHub parses Markdown as anywhere else, so the
// escaping of Markdown keeps the value literal; a backtick code span could
// not (no escape works inside one, and a value with backticks would close
// it). GitHub does not look for @mentions, :emoji: or #references inside
// code, so a value cannot notify anyone or draw a ✅ either.
func MarkdownCode(s string) string { return "<code>" + Markdown(s) + "</code>" }

// MarkdownLines is Markdown for a value shown over several lines in one
// inline context: each line (split at line feeds, as TerminalLines does)
// escaped, joined by <br>, so the value still never starts a line or a
// block of the page.
func MarkdownLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Markdown(l)
	}
	return strings.Join(lines, "<br>")
}
