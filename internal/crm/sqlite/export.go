package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/crmops/crmops/internal/crm/csvio"
)

// exportSpill is how much of an export's snapshot is kept in memory before
// it moves to a temporary file: small exports never touch the disk, large
// ones keep memory flat.
const exportSpill = 4 << 20

// exportChunk is how many bytes of rows the query hands the encoder at a
// time.
const exportChunk = 256 << 10

// Export is a snapshot of an object's live records, read in one query, for
// writing as CSV. The CSV header names every field any of them has, so it
// is known only after the last record: the snapshot holds the records,
// decoded once and already quoted as CSV cells, until WriteCSV writes them
// in the header's order. Reading the database twice instead (once for the
// header, once for the rows) cost twice the scan and could see a different
// set of records each time.
type Export struct {
	names []string // field names in the order first seen
	index map[string]uint64
	// keys and prev are the field numbers of the record being spooled and
	// of the one before.
	keys, prev []uint64
	count      int
	spool      *spool
	pairs      []fieldPair
	rec        []byte
}

// Export reads object's live (not merged) records in id order, the records
// List visits, as one consistent snapshot. The caller writes it with
// WriteCSV and must Close it. Beyond a few megabytes the snapshot
// is kept in a temporary file (in os.TempDir) about the size of the CSV.
func (db *DB) Export(ctx context.Context, object string) (*Export, error) {
	return db.export(ctx, object, exportSpill)
}

func (db *DB) export(ctx context.Context, object string, spill int) (_ *Export, err error) {
	x := &Export{spool: &spool{spill: spill}, index: map[string]uint64{}}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("sqlite: export %s: %w", object, err), x.Close())
		}
	}()
	// SQLite's scan and the decoding each take about half the time, so
	// they run side by side: the query copies rows into chunks, which the
	// encoder decodes and spools.
	g, gctx := errgroup.WithContext(ctx)
	full := make(chan []byte, 2)
	free := make(chan []byte, 3)
	for range cap(free) {
		free <- make([]byte, 0, exportChunk)
	}
	g.Go(func() error {
		for chunk := range full {
			if err := x.addChunk(chunk); err != nil {
				return err
			}
			free <- chunk[:0]
		}
		return nil
	})
	g.Go(func() error {
		defer close(full)
		return db.exportRows(gctx, object, free, full)
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := x.spool.done(); err != nil {
		return nil, err
	}
	return x, nil
}

// exportRows runs the export's query, sending the rows on full in chunks
// taken from free: each row as its id and fields, length-prefixed.
func (db *DB) exportRows(ctx context.Context, object string, free <-chan []byte, full chan<- []byte) error {
	// One statement reads one snapshot: SQLite holds its read transaction
	// until the rows are done.
	rows, err := db.sql.QueryContext(ctx,
		`SELECT id, fields FROM records
		 WHERE object = ? AND merged_into = ''
		 ORDER BY id`, object)
	if err != nil {
		return err
	}
	defer rows.Close()
	send := func(chunk []byte) error {
		select {
		case full <- chunk:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	chunk := <-free
	for rows.Next() {
		var id, raw sql.RawBytes
		if err := rows.Scan(&id, &raw); err != nil {
			return err
		}
		chunk = binary.AppendUvarint(chunk, uint64(len(id)))
		chunk = append(chunk, id...)
		chunk = binary.AppendUvarint(chunk, uint64(len(raw)))
		chunk = append(chunk, raw...)
		if len(chunk) < exportChunk {
			continue
		}
		if err := send(chunk); err != nil {
			return err
		}
		select {
		case chunk = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(chunk) > 0 {
		return send(chunk)
	}
	return nil
}

// addChunk decodes a chunk of rows and spools each record as its id cell,
// its number of fields, then each field's name (by number) and cell.
func (x *Export) addChunk(chunk []byte) error {
	for len(chunk) > 0 {
		var id, raw []byte
		var ok bool
		if id, chunk, ok = cutPrefixed(chunk); !ok {
			return errCorrupt
		}
		if raw, chunk, ok = cutPrefixed(chunk); !ok {
			return errCorrupt
		}
		if len(id) == 0 {
			return errors.New("csvio: write: record has an empty id")
		}
		var err error
		if x.pairs, err = parseFields(raw, x.pairs); err != nil {
			return fmt.Errorf("record %s: %w", id, err)
		}
		rec := x.rec[:0]
		rec = appendCell(rec, id)
		rec = binary.AppendUvarint(rec, uint64(len(x.pairs)))
		for i, p := range x.pairs {
			k := x.fieldNumber(i, p.key)
			rec = binary.AppendUvarint(rec, k)
			rec = appendCell(rec, p.value)
		}
		x.rec = rec
		x.prev, x.keys = x.keys, x.prev[:0]
		if err := x.spool.add(rec); err != nil {
			return err
		}
		x.count++
	}
	return nil
}

// fieldNumber numbers the field name key, the i-th of its record.
func (x *Export) fieldNumber(i int, key []byte) uint64 {
	// Records of an object mostly have the same fields, stored in the same
	// (sorted) order: comparing with the previous record's i-th name is
	// cheaper than hashing every name.
	if i < len(x.prev) {
		if k := x.prev[i]; x.names[k] == string(key) {
			x.keys = append(x.keys, k)
			return k
		}
	}
	k, ok := x.index[string(key)]
	if !ok {
		k = uint64(len(x.names))
		name := string(key)
		x.names = append(x.names, name)
		x.index[name] = k
	}
	x.keys = append(x.keys, k)
	return k
}

// appendCell appends value quoted as a CSV cell, preceded by the cell's
// length.
func appendCell(dst, value []byte) []byte {
	// The length is written after the contents are known; one byte is
	// reserved, enough for cells under 128 bytes, and the contents move
	// when the length needs more.
	at := len(dst)
	dst = append(dst, 0)
	dst = csvio.AppendCell(dst, value)
	n := uint64(len(dst) - at - 1)
	var hdr [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(hdr[:], n)
	if w > 1 {
		dst = append(dst, hdr[1:w]...)
		copy(dst[at+w:], dst[at+1:at+1+int(n)])
	}
	copy(dst[at:], hdr[:w])
	return dst
}

// cutPrefixed splits a length-prefixed field off b.
func cutPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, b, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// Len is the number of records in the snapshot.
func (x *Export) Len() int { return x.count }

// Fields returns the name of every field the records have, sorted: the
// columns after "id".
func (x *Export) Fields() []string {
	names := slices.Clone(x.names)
	slices.Sort(names)
	return names
}

// WriteCSV writes the snapshot to w as csvio.Writer writes records: a
// header of "id" and Fields, then one row per record in id order, a field a
// record lacks written empty.
func (x *Export) WriteCSV(w io.Writer) error {
	cols := csvio.Columns(x.Fields())
	column := make(map[string]int, len(cols))
	for i, f := range cols {
		column[f] = i
	}
	// colOf maps a field's number in the snapshot to its CSV column; -1
	// for a name csvio leaves out ("id").
	colOf := make([]int, len(x.names))
	for k, name := range x.names {
		if c, ok := column[name]; ok {
			colOf[k] = c
		} else {
			colOf[k] = -1
		}
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	line := csvio.AppendCell(nil, []byte(csvio.IDColumn))
	for _, c := range cols {
		line = csvio.AppendCell(append(line, ','), []byte(c))
	}
	if _, err := bw.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("sqlite: export: write header: %w", err)
	}
	cells := make([][]byte, len(cols))
	r, err := x.spool.reader()
	if err != nil {
		return fmt.Errorf("sqlite: export: %w", err)
	}
	var buf []byte
	for range x.count {
		if buf, err = r.next(buf); err != nil {
			return fmt.Errorf("sqlite: export: read snapshot: %w", err)
		}
		id, err := decodeSpooled(buf, colOf, cells)
		if err != nil {
			return fmt.Errorf("sqlite: export: read snapshot: %w", err)
		}
		line = append(line[:0], id...)
		for _, c := range cells {
			line = append(append(line, ','), c...)
		}
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("sqlite: export: write %s: %w", id, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sqlite: export: %w", err)
	}
	return nil
}

var errCorrupt = errors.New("corrupt record")

// decodeSpooled fills cells from one spooled record and returns its id
// cell; the cells alias rec.
func decodeSpooled(rec []byte, colOf []int, cells [][]byte) ([]byte, error) {
	clear(cells)
	id, rec, ok := cutPrefixed(rec)
	if !ok {
		return nil, errCorrupt
	}
	n, w := binary.Uvarint(rec)
	if w <= 0 {
		return nil, errCorrupt
	}
	rec = rec[w:]
	for range n {
		k, w := binary.Uvarint(rec)
		if w <= 0 || k >= uint64(len(colOf)) {
			return nil, errCorrupt
		}
		var cell []byte
		if cell, rec, ok = cutPrefixed(rec[w:]); !ok {
			return nil, errCorrupt
		}
		// A repeated name keeps its last value, as decoding into a map does.
		if c := colOf[k]; c >= 0 {
			cells[c] = cell
		}
	}
	return id, nil
}

// Close removes the snapshot's temporary file, if it has one.
func (x *Export) Close() error {
	if x == nil || x.spool == nil {
		return nil
	}
	return x.spool.close()
}

// spool holds length-prefixed records in memory, moving them to a
// temporary file once they pass spill bytes.
type spool struct {
	spill int
	mem   bytes.Buffer
	file  *os.File
	w     *bufio.Writer
	hdr   [binary.MaxVarintLen64]byte
}

func (s *spool) add(rec []byte) error {
	n := binary.PutUvarint(s.hdr[:], uint64(len(rec)))
	if s.w == nil {
		s.mem.Write(s.hdr[:n])
		s.mem.Write(rec)
		if s.mem.Len() <= s.spill {
			return nil
		}
		f, err := os.CreateTemp("", "crmops-export-*")
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 1<<20)
		if _, err := s.w.Write(s.mem.Bytes()); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		s.mem = bytes.Buffer{}
		return nil
	}
	if _, err := s.w.Write(s.hdr[:n]); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := s.w.Write(rec); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

func (s *spool) done() error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// reader reads the records from the first.
func (s *spool) reader() (*spoolReader, error) {
	if s.file == nil {
		return &spoolReader{r: bufio.NewReader(bytes.NewReader(s.mem.Bytes()))}, nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &spoolReader{r: bufio.NewReaderSize(s.file, 1<<20)}, nil
}

func (s *spool) close() error {
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	s.file = nil
	return errors.Join(err, os.Remove(name))
}

type spoolReader struct {
	r *bufio.Reader
}

// next reads the next record into buf.
func (r *spoolReader) next(buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return buf, err
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(r.r, buf)
	return buf, err
}
