package seed

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// Group is a set of records of one object planted together.
type Group struct {
	Object string
	// Kind says how the records were planted: for duplicates emailcase,
	// whitespace, gmail, nickname, typo (contacts), domain or name
	// (companies); for hard negatives twin, family, role (contacts) or
	// namesake (companies). A group of three is named by its first copy.
	Kind string
	// IDs are the records, the original first.
	IDs []string
}

// Truth is what was planted in a generated CRM.
type Truth struct {
	// Groups are the planted duplicates: each group's records are one
	// person or company and should be merged into one.
	Groups []Group
	// Negatives are planted look-alikes: each group's records share an
	// email, a phone line or a name, yet are different people or
	// companies, and must not be merged.
	Negatives []Group
}

// Pairs is the number of merges that would resolve every planted duplicate:
// a group of k records needs k-1.
func (t *Truth) Pairs() int {
	n := 0
	for _, g := range t.Groups {
		n += len(g.IDs) - 1
	}
	return n
}

// WriteTruth writes the planted duplicate groups as CSV with the header
// object,group,id: one row per record, groups numbered from 1.
func (t *Truth) WriteTruth(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"object", "group", "id"}); err != nil {
		return err
	}
	for i, g := range t.Groups {
		n := strconv.Itoa(i + 1)
		for _, id := range g.IDs {
			if err := cw.Write([]string{g.Object, n, id}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadTruth reads what WriteTruth wrote. Kinds and negatives are not part of
// the file and come back empty.
func ReadTruth(r io.Reader) (*Truth, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("seed: read truth: %w", err)
	}
	if head[0] != "object" || head[1] != "group" || head[2] != "id" {
		return nil, fmt.Errorf("seed: read truth: header %q, want object,group,id", head)
	}
	t := &Truth{}
	last := ""
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, fmt.Errorf("seed: read truth: %w", err)
		}
		key := row[0] + "\x00" + row[1]
		if key != last {
			t.Groups = append(t.Groups, Group{Object: row[0]})
			last = key
		}
		g := &t.Groups[len(t.Groups)-1]
		g.IDs = append(g.IDs, row[2])
	}
}
