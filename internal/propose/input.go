package propose

import (
	"bufio"
	"bytes"
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
	if first == '{' {
		changes, err = readJSONLines(name, data)
	} else {
		err = strictyaml.Decode(name, data, &changes)
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
