package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// fieldPair is one key and value of a record's fields object. Both alias
// the raw JSON they were parsed from (or a fresh copy where the JSON had
// escapes), so they are valid only as long as that is.
type fieldPair struct {
	key, value []byte
}

// errSlowPath says the fast parser met JSON it does not handle itself;
// encoding/json decides what it means.
var errSlowPath = errors.New("not the common layout")

// parseFields splits the fields object raw into its pairs, in the order
// written, appending them to pairs[:0]. A repeated key appears as often as
// it is written; the last one is what encoding/json would keep.
//
// Records are stored as encoding/json writes a map[string]string: one flat
// object of strings. Reading that layout by hand decodes a record without
// building a map of every field first, which was most of the cost of a
// listing; anything else (other value types, surrogate escapes, invalid
// UTF-8, malformed JSON) goes to encoding/json, so that the result is
// always what json.Unmarshal into a map[string]string gives.
func parseFields(raw []byte, pairs []fieldPair) ([]fieldPair, error) {
	pairs = pairs[:0]
	if len(raw) == 0 {
		return pairs, nil
	}
	pairs, err := parseFast(raw, pairs)
	if err == nil {
		return pairs, nil
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return pairs[:0], fmt.Errorf("decode fields: %w", err)
	}
	pairs = pairs[:0]
	for k, v := range m {
		pairs = append(pairs, fieldPair{key: []byte(k), value: []byte(v)})
	}
	return pairs, nil
}

func parseFast(raw []byte, pairs []fieldPair) ([]fieldPair, error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return pairs, errSlowPath
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		if skipSpace(raw, i+1) != len(raw) {
			return pairs, errSlowPath
		}
		return pairs, nil
	}
	for {
		var p fieldPair
		var err error
		if p.key, i, err = parseString(raw, i); err != nil {
			return pairs, err
		}
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != ':' {
			return pairs, errSlowPath
		}
		if p.value, i, err = parseString(raw, skipSpace(raw, i+1)); err != nil {
			return pairs, err
		}
		pairs = append(pairs, p)
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return pairs, errSlowPath
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			if skipSpace(raw, i+1) != len(raw) {
				return pairs, errSlowPath
			}
			return pairs, nil
		default:
			return pairs, errSlowPath
		}
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// parseString reads the JSON string starting at raw[i] and returns its
// contents and the index after its closing quote. Without escapes the
// contents alias raw.
func parseString(raw []byte, i int) ([]byte, int, error) {
	if i >= len(raw) || raw[i] != '"' {
		return nil, i, errSlowPath
	}
	start := i + 1
	ascii := true
	for j := start; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			s := raw[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, i, errSlowPath
			}
			return s, j + 1, nil
		case c == '\\':
			return unescape(raw, start, j)
		case c < 0x20:
			return nil, i, errSlowPath
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, i, errSlowPath
}

// unescape finishes a string with escapes: raw[start:j] has none, raw[j] is
// the first backslash.
func unescape(raw []byte, start, j int) ([]byte, int, error) {
	out := make([]byte, 0, 2*(j-start)+16)
	out = append(out, raw[start:j]...)
	for j < len(raw) {
		c := raw[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return nil, start, errSlowPath
			}
			return out, j + 1, nil
		case c < 0x20:
			return nil, start, errSlowPath
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(raw) {
			return nil, start, errSlowPath
		}
		switch raw[j+1] {
		case '"', '\\', '/':
			out = append(out, raw[j+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw, j+2)
			// Surrogates, paired or not, are left to encoding/json.
			if !ok || r >= 0xD800 && r < 0xE000 {
				return nil, start, errSlowPath
			}
			out = utf8.AppendRune(out, r)
			j += 6
			continue
		default:
			return nil, start, errSlowPath
		}
		j += 2
	}
	return nil, start, errSlowPath
}

func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// fieldsDecoder turns stored fields into a record's map, keeping only the
// wanted fields (all when want is nil). It is reused for every record of a
// read so that field names are shared and scratch space is not reallocated.
type fieldsDecoder struct {
	want  map[string]string // wanted field name -> itself, shared by every record
	all   bool
	names map[string]string // field names seen, when all are wanted
	pairs []fieldPair
	buf   []byte
}

// maxSharedNames bounds the field names one decoder shares.
const maxSharedNames = 4096

func newFieldsDecoder(want []string) *fieldsDecoder {
	d := &fieldsDecoder{all: want == nil}
	if d.all {
		d.names = map[string]string{}
		return d
	}
	d.want = make(map[string]string, len(want))
	for _, f := range want {
		d.want[f] = f
	}
	return d
}

// decode returns the wanted fields of raw. The values of one record share
// one allocation, which only holds the wanted values.
func (d *fieldsDecoder) decode(raw []byte) (map[string]string, error) {
	var err error
	if d.pairs, err = parseFields(raw, d.pairs); err != nil {
		return nil, err
	}
	d.buf = d.buf[:0]
	n := 0
	for i, p := range d.pairs {
		if !d.all {
			if _, ok := d.want[string(p.key)]; !ok {
				continue
			}
		}
		d.buf = append(d.buf, p.value...)
		d.pairs[n] = d.pairs[i]
		n++
	}
	values := string(d.buf)
	fields := make(map[string]string, n)
	off := 0
	for _, p := range d.pairs[:n] {
		fields[d.name(p.key)] = values[off : off+len(p.value)]
		off += len(p.value)
	}
	return fields, nil
}

// name returns the field name key as a string shared by every record.
func (d *fieldsDecoder) name(key []byte) string {
	if !d.all {
		return d.want[string(key)]
	}
	if s, ok := d.names[string(key)]; ok {
		return s
	}
	s := string(key)
	// Objects have tens of fields, not thousands; a file where every record
	// has names of its own must not grow the table without end.
	if len(d.names) < maxSharedNames {
		d.names[s] = s
	}
	return s
}
