package lifecycle

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// eventLine is one line of the events file as encoding/json reads it.
type eventLine struct {
	Record json.RawMessage `json:"record"`
	Event  string          `json:"event"`
	Time   string          `json:"time"`
}

// event is the part of an events line the detector uses.
type event struct {
	record   string // "" when the line has none
	recordOK bool   // false: the record value is no id
	name     string
	time     string
}

// parseEvent reads one line of the events file. Most lines are flat objects
// of strings and whole numbers, which scanEvent reads without reflection
// (encoding/json costs seconds on a million lines); anything else goes to
// encoding/json, whose errors are the ones reported.
func parseEvent(b []byte) (event, error) {
	if e, ok := scanEvent(b); ok {
		return e, nil
	}
	var l eventLine
	if err := json.Unmarshal(b, &l); err != nil {
		return event{}, err
	}
	e := event{name: l.Event, time: l.Time, recordOK: true}
	raw := bytes.TrimSpace(l.Record)
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			e.recordOK = false
			break
		}
		e.record, e.recordOK = recordID(s, true)
	default:
		e.record, e.recordOK = recordID(string(raw), false)
	}
	if !e.recordOK {
		e.record = string(l.Record)
	}
	return e, nil
}

// recordID checks a record value: a string holding an id, or a whole
// number.
func recordID(v string, quoted bool) (string, bool) {
	if quoted {
		s := strings.TrimSpace(v)
		return s, !strings.ContainsAny(s, "/\r\n")
	}
	if _, err := strconv.ParseUint(v, 10, 64); err != nil {
		return v, false
	}
	return v, true
}

// scanEvent is the fast path of parseEvent: a JSON object whose values are
// strings without escapes or whole numbers, with record, event and time
// spelled exactly. ok is false for anything else (nested values, escapes,
// literals, fractions, keys differing only in case, trailing data), so it
// never accepts a line encoding/json would reject or read differently.
func scanEvent(b []byte) (e event, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return e, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return event{recordOK: true}, skipSpace(b, i+1) == len(b)
	}
	var record []byte
	quoted := false
	for {
		key, j, ok := scanString(b, i)
		if !ok {
			return e, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return e, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return e, false
		}
		var val []byte
		isString := b[i] == '"'
		if isString {
			if val, i, ok = scanString(b, i); !ok {
				return e, false
			}
		} else if val, i, ok = scanInteger(b, i); !ok {
			return e, false
		}
		switch string(key) {
		case "record":
			record, quoted = val, isString
		case "event":
			if !isString {
				return e, false
			}
			e.name = string(val)
		case "time":
			if !isString {
				return e, false
			}
			e.time = string(val)
		default:
			// encoding/json matches keys ignoring case; leave those to it.
			if bytes.EqualFold(key, []byte("record")) || bytes.EqualFold(key, []byte("event")) || bytes.EqualFold(key, []byte("time")) {
				return e, false
			}
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return e, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return e, false
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i+1) != len(b) {
		return e, false
	}
	e.recordOK = true
	if record != nil {
		e.record, e.recordOK = recordID(string(record), quoted)
		if !e.recordOK && quoted {
			e.record = `"` + e.record + `"` // as the line has it, like encoding/json's path
		}
	}
	return e, true
}

// scanString reads a JSON string without escapes starting at b[i] == '"'
// and returns its contents and the index after it.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// scanInteger reads a JSON whole number (no fraction or exponent).
func scanInteger(b []byte, i int) ([]byte, int, bool) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	switch {
	case i == digits:
		return nil, 0, false
	case b[digits] == '0' && i-digits > 1:
		return nil, 0, false // a leading zero is not JSON
	case i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'):
		return nil, 0, false
	}
	return b[start:i], i, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
