package propose

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

// ReadChanges reads proposed changes in the batch file's change format
// (without ids) as JSON lines, or as a YAML list, from r. name is used in
// errors. Every change is validated; the first bad one stops the read, so a
// bad input proposes nothing.
func ReadChanges(name string, r io.Reader) ([]batch.Change, error) {
	data, err := io.ReadAll(io.LimitReader(r, strictyaml.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > strictyaml.MaxSize {
		return nil, fmt.Errorf("%s: input larger than %d bytes; split it", name, strictyaml.MaxSize)
	}
	var changes []batch.Change
	first := firstByte(data)
	if first == 0 {
		return nil, nil // blank input, or only comments: nothing to propose
	}
	switch first {
	case '{':
		changes, err = readJSONLines(name, data)
	case '-', '[':
		err = strictyaml.Decode(name, data, &changes)
	default:
		// Neither a JSON object nor a YAML list: say what the input must
		// be rather than what YAML made of it.
		return nil, &strictyaml.Error{File: name, Line: firstLine(data), Msg: fmt.Sprintf(
			"want changes as JSON lines (one {\"kind\": ..., \"object\": ...} per line) or a YAML list (- kind: ...), got %q", clipped(firstText(data)))}
	}
	if err != nil {
		return nil, err
	}
	for i := range changes {
		c := &changes[i]
		c.ID = fmt.Sprintf("c%d", i+1) // placeholder; the planner assigns the real ones
		if err := c.Validate(name); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// firstLine is the number of the first line that is neither blank nor a
// # comment, and firstText its text.
func firstLine(data []byte) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		if t := bytes.TrimLeft(line, " \t\r\ufeff"); len(t) > 0 && t[0] != '#' {
			return i + 1
		}
	}
	return 0
}

func firstText(data []byte) string {
	lines := bytes.Split(data, []byte("\n"))
	if n := firstLine(data); n > 0 {
		return string(bytes.TrimSpace(lines[n-1]))
	}
	return ""
}

// clipped shortens s for a one-line error.
func clipped(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// firstByte is the first character of the first line that is neither
// blank nor a # comment: what tells JSON lines from YAML.
func firstByte(data []byte) byte {
	for _, line := range bytes.Split(data, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t\r\ufeff")
		if len(trimmed) > 0 && trimmed[0] != '#' {
			return trimmed[0]
		}
	}
	return 0
}

func readJSONLines(name string, data []byte) ([]batch.Change, error) {
	var changes []batch.Change
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), strictyaml.MaxSize)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		var c batch.Change
		if err := strictyaml.DecodeAt(name, line, text, &c); err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return changes, nil
}

// DecodeChanges reads changes given one JSON object each (an MCP tool's
// arguments) through the same strict decoding and validation as
// ReadChanges. An error names the change by its index and the key, as
// "changes[2].confidence: …", and nothing is returned with it.
func DecodeChanges(raws [][]byte) ([]batch.Change, error) {
	changes := make([]batch.Change, len(raws))
	for i, raw := range raws {
		c := &changes[i]
		err := strictyaml.DecodeAt("changes", i+1, raw, c)
		if err == nil {
			c.ID = fmt.Sprintf("c%d", i+1) // placeholder; the planner assigns the real ones
			err = c.Validate("changes")
		}
		if err != nil {
			return nil, indexed(i, err)
		}
	}
	return changes, nil
}

// indexed rewrites a decoding error of change i, whose line is the
// change's position, to name the change instead of a line.
func indexed(i int, err error) error {
	var e *strictyaml.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("changes[%d]: %w", i, err)
	}
	if e.Key == "" {
		return fmt.Errorf("changes[%d]: %s", i, e.Msg)
	}
	return fmt.Errorf("changes[%d].%s: %s", i, e.Key, e.Msg)
}
