package sample

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
)

// fieldOrder is the column order WriteCSV uses for the sample CRM's fields;
// other fields follow in alphabetical order.
var fieldOrder = []string{
	"name", "domain", "industry", "employees", "country",
	"email", "firstname", "lastname", "jobtitle", "phone", "company",
	"lifecyclestage", "owner", "email_status", "created",
}

// WriteCSV writes recs as CSV in the format `crmops crm import` reads: a
// header of "id" and the union of the records' field names (the sample
// fields in their usual order, then any others alphabetically), then one
// row per record with "" for fields it lacks. MergedInto is not written.
func WriteCSV(w io.Writer, recs []crm.Record) error {
	present := map[string]bool{}
	var extra []string
	for _, r := range recs {
		for k := range r.Fields {
			if k != "id" && !present[k] {
				present[k] = true
				if !slices.Contains(fieldOrder, k) {
					extra = append(extra, k)
				}
			}
		}
	}
	slices.Sort(extra)
	header := []string{"id"}
	for _, k := range fieldOrder {
		if present[k] {
			header = append(header, k)
		}
	}
	header = append(header, extra...)

	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for _, r := range recs {
		row[0] = r.ID
		for i, k := range header[1:] {
			row[i+1] = r.Fields[k]
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// setLine and mergeLine are a change as one JSON line, with the keys of the
// batch file format in its order; each holds only the keys its op uses, and
// a set always carries "before" (its compare-and-swap guard), even when "".
type setLine struct {
	Kind       string  `json:"kind"`
	Object     string  `json:"object"`
	Record     string  `json:"record"`
	Op         string  `json:"op"`
	Field      string  `json:"field"`
	Before     string  `json:"before"`
	After      string  `json:"after"`
	Source     string  `json:"source"`
	Confidence float64 `json:"confidence"`
	Trigger    string  `json:"trigger,omitempty"`
	Reason     string  `json:"reason,omitempty"`
}

type mergeLine struct {
	Kind       string            `json:"kind"`
	Object     string            `json:"object"`
	Record     string            `json:"record"`
	Op         string            `json:"op"`
	MergeFrom  string            `json:"merge_from"`
	Source     string            `json:"source"`
	Confidence float64           `json:"confidence"`
	Trigger    string            `json:"trigger,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Snapshot   map[string]string `json:"snapshot,omitempty"`
}

// ChangesJSONL writes d.Changes as JSON lines, the input `crmops propose`
// reads: snake_case keys as in the batch file (kind, object, record, op,
// field, before, after, merge_from, source, confidence, trigger, reason,
// snapshot), without ids. Sets omit merge_from and snapshot; merges omit
// field, before and after.
func (d Data) ChangesJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, c := range d.Changes {
		var v any
		if c.Op == batch.OpMerge {
			v = mergeLine{c.Kind, c.Object, c.Record, c.Op, c.MergeFrom, c.Source, c.Confidence, c.Trigger, c.Reason, c.Snapshot}
		} else {
			v = setLine{c.Kind, c.Object, c.Record, c.Op, c.Field, c.Before, c.After, c.Source, c.Confidence, c.Trigger, c.Reason}
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}
