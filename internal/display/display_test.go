package display_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/display"
)

func TestVisibleShowsWhatAReaderCouldNotSee(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is left as it is", "VP Sales, Zürich – 東京", "VP Sales, Zürich – 東京"},
		{"an empty string stays empty", "", ""},
		{"ESC is shown, so no escape sequence can start", "\x1b[1Aup", "⟨U+001B⟩[1Aup"},
		{"a bell is shown", "ding\a", "ding⟨U+0007⟩"},
		{"a carriage return is shown", "ok\rdenied", "ok⟨U+000D⟩denied"},
		{"a line feed is shown on one line", "a\nb", "a⟨U+000A⟩b"},
		{"a tab is shown", "a\tb", "a⟨U+0009⟩b"},
		{"NUL and DEL are shown", "\x00\x7f", "⟨U+0000⟩⟨U+007F⟩"},
		{"C1 controls are shown, CSI too", "a\u009b2Kb\u0085", "a⟨U+009B⟩2Kb⟨U+0085⟩"},
		{"a right-to-left override is shown", "evil\u202Etxt.exe", "evil⟨U+202E⟩txt.exe"},
		{"every bidi control is shown", "\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u200E\u200F\u061C",
			"⟨U+202A⟩⟨U+202B⟩⟨U+202C⟩⟨U+202D⟩⟨U+2066⟩⟨U+2067⟩⟨U+2068⟩⟨U+2069⟩⟨U+200E⟩⟨U+200F⟩⟨U+061C⟩"},
		{"zero-width characters are shown", "a\u200Bb\u200Cc\u200Dd\u2060e\u2061\u2062\u2063\u2064\uFEFF",
			"a⟨U+200B⟩b⟨U+200C⟩c⟨U+200D⟩d⟨U+2060⟩e⟨U+2061⟩⟨U+2062⟩⟨U+2063⟩⟨U+2064⟩⟨U+FEFF⟩"},
		{"other format characters are shown (soft hyphen, tags)", "a\u00ADb\U000E0041", "a⟨U+00AD⟩b⟨U+E0041⟩"},
		{"line and paragraph separators are shown", "a\u2028b\u2029c", "a⟨U+2028⟩b⟨U+2029⟩c"},
		{"blank-looking letters are shown", "a\u3164b\u115Fc", "a⟨U+3164⟩b⟨U+115F⟩c"},
		{"invalid UTF-8 is shown byte by byte", "a\xffb\xc3", "a⟨0xFF⟩b⟨0xC3⟩"},
		{"a value cannot forge a token", "⟨U+202E⟩", "⟨U+27E8⟩U+202E⟩"},
		{"emoji and their variation selectors are kept", "❤️ ok", "❤️ ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := display.Visible(tt.in); got != tt.want {
				t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := display.Terminal(tt.in); got != tt.want {
				t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTerminalLinesKeepOnlyTheLineFeeds(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one line", "abc", []string{"abc"}},
		{"lines split at line feeds", "a\nb\n", []string{"a", "b", ""}},
		{"a CR before an LF is shown", "a\r\nb", []string{"a⟨U+000D⟩", "b"}},
		{"an OSC 8 hyperlink is shown, not made", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
			[]string{"⟨U+001B⟩]8;;http://evil⟨U+001B⟩\\click⟨U+001B⟩]8;;⟨U+001B⟩\\"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := display.TerminalLines(tt.in)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") || len(got) != len(tt.want) {
				t.Errorf("TerminalLines(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownLeavesNoMarkupInAValue(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a path stays readable", "proposals/2026-11/x.yaml", "proposals/2026-11/x.yaml"},
		{"a pipe cannot end a table cell", "a|b", `a\|b`},
		{"a backslash is escaped first", `a\|b`, `a\\\|b`},
		{"a line feed cannot start a line", "x\n<!--", `x⟨U+000A⟩\<\!--`},
		{"a comment cannot start", "<!-- hide", `\<\!-- hide`},
		{"HTML cannot start", "<img src=x onerror=alert(1)>", `\<img src=x onerror=alert(1)\>`},
		{"a closing tag cannot close crmops' details", "</details>", `\</details\>`},
		{"a link cannot start", "[link](javascript:alert(1))", `\[link\](javascript\:alert(1))`},
		{"an image cannot start", "![x](http://e/x.png)", `\!\[x\](http\://e/x.png)`},
		{"emphasis cannot start", "**bold** _em_ ~del~", `\*\*bold\*\* \_em\_ \~del\~`},
		{"a code span cannot start", "`code`", "\\`code\\`"},
		{"a URL is no autolink", "see http://evil.example", `see http\://evil.example`},
		{"a www name is no autolink", "www.evil.example WWW.x", `www\.evil.example WWW\.x`},
		{"an e-mail address is no autolink", "a@x.com", `a\@x.com`},
		{"an entity stays text", "&lt; &#x202E;", `\&lt; \&\#x202E;`},
		{"math does not start", "$x$", `\$x\$`},
		{"a heading does not start", "# heading", `\# heading`},
		{"a thematic break does not start", "---", `\---`},
		{"a list item does not start", "- item", `\- item`},
		{"an ordered list item does not start", "12. item", `12\. item`},
		{"a setext underline does not start", "===", `\===`},
		{"a dash or a dot inside is left", "a-b 1.5", "a-b 1.5"},
		{"invisible characters are shown", "a\u202Eb\u200Bc\rd", "a⟨U+202E⟩b⟨U+200B⟩c⟨U+000D⟩d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := display.Markdown(tt.in); got != tt.want {
				t.Errorf("Markdown(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownCodeAndLines(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"code wraps the escaped value in <code>", display.MarkdownCode("a`b|c<d>"), "<code>a\\`b\\|c\\<d\\></code>"},
		{"an empty value is an empty code element", display.MarkdownCode(""), "<code></code>"},
		{"lines are joined by <br>", display.MarkdownLines("a\n# b\r\nc"), `a<br>\# b⟨U+000D⟩<br>c`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
