package gitrepo

import (
	"strings"
)

// Trailer is one "Key: value" line from the end of a commit message, such as
// "Approved-by: alice".
type Trailer struct {
	Key   string
	Value string
}

// ParseTrailers returns the trailers of a commit message: the lines of its
// last paragraph, when that paragraph is not the subject and every line in it
// is either "Key: value" (Key made of letters, digits and hyphens) or an
// indented continuation of the previous value. This is the strict reading of
// git interpret-trailers; crmops writes its own trailers, so it never needs
// git's 25%-of-lines leniency, and a prose paragraph that happens to contain a
// colon is not mistaken for trailers.
func ParseTrailers(message string) []Trailer {
	lines := strings.Split(strings.ReplaceAll(message, "\r\n", "\n"), "\n")
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	start := end
	for start > 0 && strings.TrimSpace(lines[start-1]) != "" {
		start--
	}
	if start == 0 {
		// The only paragraph is the subject (and maybe a body glued to it).
		return nil
	}
	var out []Trailer
	for _, line := range lines[start:end] {
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) == 0 {
				return nil
			}
			last := &out[len(out)-1]
			last.Value = strings.TrimSpace(last.Value + " " + strings.TrimSpace(line))
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || !isTrailerKey(key) {
			return nil
		}
		out = append(out, Trailer{Key: key, Value: strings.TrimSpace(value)})
	}
	return out
}

func isTrailerKey(k string) bool {
	if k == "" || k[0] == '-' {
		return false
	}
	for _, c := range k {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// FormatTrailers renders trailers as a message's last paragraph, the inverse
// of ParseTrailers: append it after a blank line. Newlines in values become
// indented continuation lines, read back as spaces.
func FormatTrailers(trailers []Trailer) string {
	var b strings.Builder
	for _, t := range trailers {
		b.WriteString(t.Key)
		b.WriteString(":")
		wrote := false
		for _, line := range strings.Split(t.Value, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				// A blank line would end the trailer paragraph.
				continue
			}
			if wrote {
				b.WriteString("\n")
			}
			wrote = true
			b.WriteString(" ")
			b.WriteString(line)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
