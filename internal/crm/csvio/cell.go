package csvio

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// Columns returns the columns a Writer for fields writes after "id": fields
// in order, without "id" and without repeats.
func Columns(fields []string) []string {
	cols := make([]string, 0, len(fields))
	seen := map[string]bool{IDColumn: true}
	for _, f := range fields {
		if !seen[f] {
			seen[f] = true
			cols = append(cols, f)
		}
	}
	return cols
}

// AppendCell appends cell to dst quoted as Writer writes it (encoding/csv's
// rules for a comma delimiter and "\n" line ends), for callers that stream
// millions of cells from bytes: they get the same file without making a
// string of every value.
func AppendCell(dst, cell []byte) []byte {
	if !needsQuotes(cell) {
		return append(dst, cell...)
	}
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(cell, '"')
		if i < 0 {
			break
		}
		dst = append(dst, cell[:i+1]...)
		dst = append(dst, '"')
		cell = cell[i+1:]
	}
	dst = append(dst, cell...)
	return append(dst, '"')
}

// needsQuotes is encoding/csv's fieldNeedsQuotes for a comma delimiter.
func needsQuotes(c []byte) bool {
	if len(c) == 0 {
		return false
	}
	if string(c) == `\.` {
		return true
	}
	for _, b := range c {
		if b == '\n' || b == '\r' || b == '"' || b == ',' {
			return true
		}
	}
	r, _ := utf8.DecodeRune(c)
	return unicode.IsSpace(r)
}
