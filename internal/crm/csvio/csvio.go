// Package csvio reads and writes CRM records as CSV: a header row of field
// names with a required "id" column, one record per row. It streams in both
// directions. It also reads HubSpot's CRM export format (see ReadOptions),
// so that an export can be imported as it is.
package csvio

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/crmops/crmops/internal/crm"
)

// IDColumn is the header name of the column holding record ids.
const IDColumn = "id"

// utf8BOM is what spreadsheet programs put before "id" when they save
// "CSV UTF-8"; left in, the header would have no "id" column.
const utf8BOM = "\uFEFF"

// Read parses CSV from r and calls fn with each record and the line it starts
// on. name is used in error messages (usually the file name), which read
// "name:line: problem". The header names the fields and must have an "id"
// column; empty cells are omitted from Fields, since empty means absent.
// Spaces around header names and ids are trimmed, never around values.
// A line break inside a quoted cell reads as "\n" even if written as "\r\n".
// Rows whose cells are all empty are skipped. An error from fn stops reading
// and is returned with the line prefixed.
//
// An id on more than one row is an error naming both lines, since which row
// should win is a guess ("name:line: id: \"1001\" repeats line 2"); the
// error comes when the second row is read, so fn has seen the first. Set
// ReadOptions.AllowRepeatedIDs to have every row passed to fn instead.
//
// A file without an "id" column but with HubSpot's "Record ID" column is
// read as a HubSpot export (see ReadOptions). Read is ReadWith with the zero
// ReadOptions.
func Read(r io.Reader, name string, fn func(line int, rec crm.Record) error) error {
	return ReadWith(r, name, ReadOptions{}, fn)
}

// Formats ReadWith understands.
const (
	// FormatCrmops is crmops's own: an "id" column and field names as
	// headers, as Writer writes them.
	FormatCrmops = "crmops"
	// FormatHubSpot is HubSpot's CRM export: the id in "Record ID" and
	// property labels ("First Name", "Lifecycle Stage") as headers.
	FormatHubSpot = "hubspot"
)

// ReadOptions choose how ReadWith interprets a file.
type ReadOptions struct {
	// Format is FormatCrmops, FormatHubSpot, or "" to tell from the header:
	// an "id" column means crmops, else a "Record ID" column means HubSpot.
	//
	// In a HubSpot export, headers are property labels. Known English
	// labels become field names (HubSpotFieldName lists them); any other
	// label becomes lower snake_case ("Favourite Colour" -> favourite_colour).
	// Lifecycle stage labels become HubSpot's internal values ("Marketing
	// Qualified Lead" -> marketingqualifiedlead); other values are kept as
	// exported (owners, for instance, are exported by name, not id). Labels
	// renamed in the account, or exported in another language, fall back to
	// snake_case.
	Format string
	// Object is what the file holds (contacts, companies, deals, ...). A
	// HubSpot export needs it where one label means different properties:
	// "Company name" is a contact's company but a company's own name. Empty:
	// guessed from the header (a "Company Domain Name" column without an
	// "Email" column means companies, a "Deal Name" column deals, else
	// contacts).
	Object string
	// AllowRepeatedIDs passes every row to fn even when its id was on an
	// earlier row; by default a repeated id is an error. Ids are compared as
	// read (after trimming spaces), case included.
	AllowRepeatedIDs bool
}

// ReadWith is Read with options.
func ReadWith(r io.Reader, name string, opts ReadOptions, fn func(line int, rec crm.Record) error) error {
	switch opts.Format {
	case "", FormatCrmops, FormatHubSpot:
	default:
		return fmt.Errorf("%s: unknown CSV format %q (%s or %s)", name, opts.Format, FormatCrmops, FormatHubSpot)
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	// Column counts are checked here so the error can name the file.
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty file, expected a header row with an %q column", name, IDColumn)
	}
	if err != nil {
		return parseError(name, err)
	}
	headerLine, _ := cr.FieldPos(0)
	h, err := parseHeader(name, headerLine, header, opts)
	if err != nil {
		return err
	}
	columns := h.names
	// firstLine remembers where each id was first seen, to name both lines
	// when one repeats.
	var firstLine map[string]int
	if !opts.AllowRepeatedIDs {
		firstLine = map[string]int{}
	}

	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return parseError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if blank(row) {
			continue // spreadsheets pad files with rows of empty cells
		}
		if len(row) != len(columns) {
			return fmt.Errorf("%s:%d: row has %d columns, header has %d", name, line, len(row), len(columns))
		}
		rec := crm.Record{ID: strings.TrimSpace(row[h.idCol]), Fields: make(map[string]string, len(columns)-1)}
		if rec.ID == "" {
			return fmt.Errorf("%s:%d: empty id", name, line)
		}
		if firstLine != nil {
			if first, dup := firstLine[rec.ID]; dup {
				return fmt.Errorf("%s:%d: %s: %q repeats line %d", name, line, h.labels[h.idCol], rec.ID, first)
			}
			firstLine[rec.ID] = line
		}
		for i, value := range row {
			// Invalid UTF-8 is usually a file saved in a legacy encoding;
			// storing it would turn accents into replacement characters.
			if !utf8.ValidString(value) {
				return fmt.Errorf("%s:%d: column %q is not valid UTF-8; save the file as CSV UTF-8", name, line, h.labels[i])
			}
			if i == h.idCol || value == "" {
				continue
			}
			if conv := h.convert[i]; conv != nil {
				value = conv(value)
			}
			rec.Fields[columns[i]] = value
		}
		if err := fn(line, rec); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
}

// ReadAll reads the whole file with ReadWith and returns its records, for
// callers that must see every row before acting on any (an all-or-nothing
// import). An id on several rows, which only ReadOptions.AllowRepeatedIDs
// lets through, becomes one record at the position of its first row: later
// rows overwrite the values they have and their empty cells leave earlier
// values alone, as upserting each row in turn would. repeated is how many
// rows were merged into an earlier one (rows read = len(recs) + repeated).
// On error no records are returned.
func ReadAll(r io.Reader, name string, opts ReadOptions) (recs []crm.Record, repeated int, err error) {
	index := map[string]int{} // id -> position in recs
	err = ReadWith(r, name, opts, func(_ int, rec crm.Record) error {
		if i, seen := index[rec.ID]; seen {
			for k, v := range rec.Fields {
				recs[i].Fields[k] = v
			}
			repeated++
			return nil
		}
		index[rec.ID] = len(recs)
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return recs, repeated, nil
}

func blank(row []string) bool {
	for _, cell := range row {
		if cell != "" {
			return false
		}
	}
	return true
}

// header is a parsed header row.
type header struct {
	names   []string // field name of each column
	labels  []string // the column headers as written (trimmed)
	idCol   int
	convert []func(string) string // value conversion per column, or nil
}

// parseHeader checks the header row and works out each column's field name
// and the id column.
func parseHeader(name string, line int, row []string, opts ReadOptions) (*header, error) {
	h := &header{names: make([]string, len(row)), labels: make([]string, len(row)),
		convert: make([]func(string) string, len(row)), idCol: -1}
	hubspotID := -1
	for i, label := range row {
		label = strings.TrimSpace(label)
		if !utf8.ValidString(label) {
			return nil, fmt.Errorf("%s:%d: header is not valid UTF-8; save the file as CSV UTF-8", name, line)
		}
		if label == "" {
			return nil, fmt.Errorf("%s:%d: column %d has no name", name, line, i+1)
		}
		h.labels[i] = label
		if label == IDColumn && h.idCol < 0 {
			h.idCol = i
		}
		if normLabel(label) == hubspotIDLabel && hubspotID < 0 {
			hubspotID = i
		}
	}
	format := opts.Format
	if format == "" {
		format = FormatCrmops
		if h.idCol < 0 && hubspotID >= 0 {
			format = FormatHubSpot
		}
	}
	if format == FormatHubSpot {
		if hubspotID < 0 {
			return nil, fmt.Errorf("%s: header has no %q column, which HubSpot exports have", name, "Record ID")
		}
		h.idCol = -1
		object := opts.Object
		if object == "" {
			object = guessObject(h.labels)
		}
		for i, label := range h.labels {
			if i == hubspotID {
				h.names[i], h.idCol = IDColumn, i
				continue
			}
			field, conv, err := hubspotField(object, label)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %d: %w", name, line, i+1, err)
			}
			h.names[i], h.convert[i] = field, conv
		}
	} else {
		copy(h.names, h.labels)
	}
	if h.idCol < 0 {
		return nil, fmt.Errorf("%s: header has no %q column (HubSpot exports, with \"Record ID\", are read too)", name, IDColumn)
	}
	seen := make(map[string]int, len(row))
	for i, field := range h.names {
		if j, dup := seen[field]; dup {
			if h.labels[i] != field || h.labels[j] != field {
				return nil, fmt.Errorf("%s:%d: columns %d (%q) and %d (%q) are both field %q", name, line, j+1, h.labels[j], i+1, h.labels[i], field)
			}
			return nil, fmt.Errorf("%s:%d: duplicate column %q (columns %d and %d)", name, line, field, j+1, i+1)
		}
		seen[field] = i
	}
	return h, nil
}

// parseError puts the file name in front of encoding/csv's own position.
func parseError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %w", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Writer writes records as CSV: a header of "id" and the chosen fields, then
// one row per record. Output is buffered; call Flush when done.
type Writer struct {
	cw          *csv.Writer
	fields      []string
	row         []string
	wroteHeader bool
}

// NewWriter returns a Writer whose columns are "id" followed by fields, in
// the order given. "id" and repeated names in fields are dropped, since the
// id is always the first column and a repeated column could not be read back.
func NewWriter(w io.Writer, fields []string) *Writer {
	cols := Columns(fields)
	return &Writer{cw: csv.NewWriter(w), fields: cols, row: make([]string, len(cols)+1)}
}

// Write writes one record; fields the Writer was not given are left out and
// fields the record lacks are written empty.
func (w *Writer) Write(rec crm.Record) error {
	if rec.ID == "" {
		return errors.New("csvio: write: record has an empty id")
	}
	if err := w.header(); err != nil {
		return err
	}
	w.row[0] = rec.ID
	for i, f := range w.fields {
		w.row[i+1] = rec.Fields[f]
	}
	if err := w.cw.Write(w.row); err != nil {
		return fmt.Errorf("csvio: write %s: %w", rec.ID, err)
	}
	return nil
}

// Flush writes any buffered output, and the header when no record was
// written, so that an empty export is still a valid file.
func (w *Writer) Flush() error {
	if err := w.header(); err != nil {
		return err
	}
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("csvio: flush: %w", err)
	}
	return nil
}

func (w *Writer) header() error {
	if w.wroteHeader {
		return nil
	}
	w.wroteHeader = true
	if err := w.cw.Write(append([]string{IDColumn}, w.fields...)); err != nil {
		return fmt.Errorf("csvio: write header: %w", err)
	}
	return nil
}
