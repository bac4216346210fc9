// Package table reads the CSV files detectors take as input (vendor
// exports, verifier results, score and owner files): a header row, then
// rows with the line each starts on.
package table

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Table streams a CSV file with a header row, one row at a time, with the
// line each row starts on. Unlike csvio it needs no "id" column: vendor
// exports name their columns as they like, and settings say which to read.
type Table struct {
	name   string
	header []string
	cols   map[string]int
	width  int
	cr     *csv.Reader
}

// Open reads the header row of the CSV in r; name is the file name
// used in messages.
func Open(name string, r io.Reader) (*Table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Spreadsheets saving "CSV UTF-8" put a byte-order mark before the
	// first column name; left in, that column could not be found.
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // rows with a wrong cell count are skipped, not fatal
	cr.ReuseRecord = true
	h, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, expected a header row", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	t := &Table{name: name, cols: make(map[string]int, len(h)), width: len(h), cr: cr}
	for i, c := range h {
		c = strings.TrimSpace(c)
		if !utf8.ValidString(c) {
			return nil, fmt.Errorf("%s:1: header is not valid UTF-8; save the file as CSV UTF-8", name)
		}
		if c == "" {
			continue // an unnamed column (a trailing comma) cannot be asked for
		}
		if j, dup := t.cols[c]; dup {
			return nil, fmt.Errorf("%s:1: duplicate column %q (columns %d and %d)", name, c, j+1, i+1)
		}
		t.cols[c] = i
		t.header = append(t.header, strings.Clone(c))
	}
	return t, nil
}

// Column returns the index of the named column: an exact match, else the
// only one equal to it ignoring case. A missing column is an error for the
// whole file, naming the file and the column.
func (t *Table) Column(name string) (int, error) {
	if i, ok := t.cols[name]; ok {
		return i, nil
	}
	found := -1
	for c, i := range t.cols {
		if strings.EqualFold(c, name) {
			if found >= 0 {
				return -1, fmt.Errorf("%s: column %q is ambiguous: the header has it in several spellings", t.name, name)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, fmt.Errorf("%s: no column %q (the header has: %s)", t.name, name, strings.Join(t.header, ", "))
	}
	return found, nil
}

// Has reports whether the header has the named column.
func (t *Table) Has(name string) bool {
	_, err := t.Column(name)
	return err == nil
}

// Next returns the next row that is not blank and the line it starts on,
// or io.EOF after the last. A row that cannot be used (wrong number of
// cells, not UTF-8) comes back with bad set, so the caller can report it
// and go on. A CSV syntax error ends the file: past an unbalanced quote the
// rows no longer line up with their columns. The row is reused by the next
// call; strings.Clone what you keep.
func (t *Table) Next() (line int, row []string, bad string, err error) {
	for {
		row, err := t.cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, "", io.EOF
			}
			return 0, nil, "", csvError(t.name, err)
		}
		line, _ := t.cr.FieldPos(0)
		if Blank(row) {
			continue // spreadsheets pad files with rows of empty cells
		}
		if len(row) != t.width {
			return line, nil, fmt.Sprintf("row has %d cells, the header has %d", len(row), t.width), nil
		}
		for _, cell := range row {
			if !utf8.ValidString(cell) {
				return line, nil, "row is not valid UTF-8; save the file as CSV UTF-8", nil
			}
		}
		return line, row, "", nil
	}
}

func Blank(row []string) bool {
	for _, cell := range row {
		if strings.TrimSpace(cell) != "" {
			return false
		}
	}
	return true
}

// csvError puts the file name in front of encoding/csv's own position.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if pe.StartLine != pe.Line {
			return fmt.Errorf("%s:%d: %w (the row starting here, at line %d column %d); fix the quoting and run again", name, pe.StartLine, pe.Err, pe.Line, pe.Column)
		}
		return fmt.Errorf("%s:%d:%d: %w; fix the quoting and run again", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Name is the file name used in messages.
func (t *Table) Name() string { return t.name }

// Header is the header row, in file order.
func (t *Table) Header() []string { return t.header }
