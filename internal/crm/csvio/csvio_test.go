package csvio

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

type row struct {
	line int
	rec  crm.Record
}

func readAll(t *testing.T, input string) ([]row, error) {
	t.Helper()
	var rows []row
	err := Read(strings.NewReader(input), "contacts.csv", func(line int, rec crm.Record) error {
		rows = append(rows, row{line, rec})
		return nil
	})
	return rows, err
}

func sameRows(a, b []row) bool {
	return slices.EqualFunc(a, b, func(x, y row) bool {
		return x.line == y.line && x.rec.ID == y.rec.ID && x.rec.MergedInto == y.rec.MergedInto && maps.Equal(x.rec.Fields, y.rec.Fields)
	})
}

func r(line int, id string, kv ...string) row {
	rec := crm.Record{ID: id, Fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		rec.Fields[kv[i]] = kv[i+1]
	}
	return row{line, rec}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []row
	}{
		{"each row becomes a record with the id column as its id",
			"id,email,firstname\n1001,a@x.com,Ann\n1002,b@x.com,Bob\n",
			[]row{r(2, "1001", "email", "a@x.com", "firstname", "Ann"), r(3, "1002", "email", "b@x.com", "firstname", "Bob")}},
		{"the id column may be anywhere in the header",
			"email,id\na@x.com,7\n",
			[]row{r(2, "7", "email", "a@x.com")}},
		{"empty cells are left out of the fields",
			"id,email,phone\n1,,555\n",
			[]row{r(2, "1", "phone", "555")}},
		{"a UTF-8 byte order mark before the header is ignored",
			"\xEF\xBB\xBFid,email\n1,a@x.com\n",
			[]row{r(2, "1", "email", "a@x.com")}},
		{"Windows line endings are read like Unix ones",
			"id,email\r\n1,a@x.com\r\n",
			[]row{r(2, "1", "email", "a@x.com")}},
		{"quoted cells keep commas, quotes and line breaks, and lines count from where a row starts",
			"id,note,city\n1,\"one, \"\"two\"\"\nthree\",Oslo\n2,x,Rome\n",
			[]row{r(2, "1", "note", "one, \"two\"\nthree", "city", "Oslo"), r(4, "2", "note", "x", "city", "Rome")}},
		{"spaces around header names and ids are trimmed but kept in values",
			" id , email \n 42 , a@x.com \n",
			[]row{r(2, "42", "email", " a@x.com ")}},
		{"rows of empty cells are skipped",
			"id,email\n1,a@x.com\n,\n\n2,b@x.com\n",
			[]row{r(2, "1", "email", "a@x.com"), r(5, "2", "email", "b@x.com")}},
		{"a header without rows yields no records",
			"id,email\n",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRows(got, tt.want) {
				t.Errorf("Read =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string
		// wantRows is how many records reached fn before the error.
		wantRows int
	}{
		{"a header without an id column is refused, naming the file",
			"email,name\na@x.com,Ann\n", `contacts.csv: header has no "id" column`, 0},
		{"an id column with different case is not the id column",
			"ID,email\n1,a@x.com\n", `contacts.csv: header has no "id" column`, 0},
		{"an empty file is refused",
			"", `contacts.csv: empty file`, 0},
		{"a duplicate column name is refused",
			"id,email,email\n1,a,b\n", `contacts.csv:1: duplicate column "email" (columns 2 and 3)`, 0},
		{"a column without a name is refused",
			"id,,email\n1,a,b\n", `contacts.csv:1: column 2 has no name`, 0},
		{"a row with too few columns names its line",
			"id,email,phone\n1,a@x.com,555\n2,b@x.com\n", `contacts.csv:3: row has 2 columns, header has 3`, 1},
		{"a row with too many columns names its line",
			"id,email\n1,a@x.com,extra\n", `contacts.csv:2: row has 3 columns, header has 2`, 0},
		{"a row with an empty id names its line",
			"id,email\n1,a@x.com\n,b@x.com\n", `contacts.csv:3: empty id`, 1},
		{"an id of only spaces is empty",
			"id,email\n  ,b@x.com\n", `contacts.csv:2: empty id`, 0},
		{"a stray quote is reported with file, line and column",
			"id,email\n1,a\"b\n", `contacts.csv:2:4: bare " in non-quoted-field`, 0},
		{"a file in a legacy encoding is refused rather than garbled",
			"id,city\n1,Z\xfcrich\n", `contacts.csv:2: column "city" is not valid UTF-8`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.input)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one starting %q", err, tt.wantErr)
			}
			if len(got) != tt.wantRows {
				t.Errorf("%d records reached the callback before the error, want %d", len(got), tt.wantRows)
			}
		})
	}

	t.Run("an error from the callback stops reading and keeps its identity", func(t *testing.T) {
		stop := errors.New("database full")
		calls := 0
		err := Read(strings.NewReader("id\n1\n2\n3\n"), "contacts.csv", func(int, crm.Record) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || !strings.HasPrefix(err.Error(), "contacts.csv:3: ") {
			t.Errorf("err = %v, want the callback's error at contacts.csv:3", err)
		}
		if calls != 2 {
			t.Errorf("callback ran %d times, want 2", calls)
		}
	})
}

func TestWriter(t *testing.T) {
	t.Run("the header is id then the chosen fields and missing fields are empty", func(t *testing.T) {
		var buf bytes.Buffer
		w := NewWriter(&buf, []string{"email", "phone"})
		for _, rec := range []crm.Record{
			{ID: "1", Fields: map[string]string{"email": "a@x.com", "phone": "555", "ignored": "x"}},
			{ID: "2", Fields: map[string]string{"phone": "666"}},
			{ID: "3"},
		} {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := "id,email,phone\n1,a@x.com,555\n2,,666\n3,,\n"; buf.String() != want {
			t.Errorf("output =\n%s\nwant\n%s", buf.String(), want)
		}
	})

	t.Run("an export without records is still a header", func(t *testing.T) {
		var buf bytes.Buffer
		if err := NewWriter(&buf, []string{"email"}).Flush(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != "id,email\n" {
			t.Errorf("output = %q, want just the header", buf.String())
		}
	})

	t.Run("id and repeated names among the fields are written once", func(t *testing.T) {
		var buf bytes.Buffer
		w := NewWriter(&buf, []string{"email", "id", "email", "phone"})
		if err := w.Write(crm.Record{ID: "1", Fields: map[string]string{"email": "a", "phone": "b"}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := "id,email,phone\n1,a,b\n"; buf.String() != want {
			t.Errorf("output = %q, want %q", buf.String(), want)
		}
	})

	t.Run("a record without an id is refused", func(t *testing.T) {
		w := NewWriter(&bytes.Buffer{}, []string{"email"})
		if err := w.Write(crm.Record{Fields: map[string]string{"email": "a"}}); err == nil {
			t.Error("Write accepted a record with an empty id")
		}
	})

	t.Run("a write error surfaces from Flush", func(t *testing.T) {
		w := NewWriter(failingWriter{}, []string{"email"})
		if err := w.Write(crm.Record{ID: "1"}); err != nil {
			t.Fatal(err) // buffered: the failure shows on Flush
		}
		if err := w.Flush(); err == nil {
			t.Error("Flush reported success on a failing writer")
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRoundTrip(t *testing.T) {
	t.Run("what Writer writes Read reads back unchanged", func(t *testing.T) {
		fields := []string{"note", "name", "empty"}
		recs := []crm.Record{
			{ID: "1", Fields: map[string]string{"note": `she said "hi", then left`, "name": "Zoë"}},
			{ID: "a,b", Fields: map[string]string{"note": "line one\nline two\r\nline three", "name": " padded "}},
			{ID: `"quoted"`, Fields: map[string]string{"note": "=1+2", "name": "#,;\t"}},
			{ID: "4", Fields: map[string]string{}},
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, fields)
		for _, rec := range recs {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, buf.String())
		if err != nil {
			t.Fatalf("reading back:\n%s\nerr: %v", buf.String(), err)
		}
		if len(got) != len(recs) {
			t.Fatalf("read back %d records, wrote %d:\n%s", len(got), len(recs), buf.String())
		}
		for i, want := range recs {
			wantFields := maps.Clone(want.Fields)
			// encoding/csv normalises \r\n inside a quoted field to \n.
			for k, v := range wantFields {
				wantFields[k] = strings.ReplaceAll(v, "\r\n", "\n")
			}
			if got[i].rec.ID != want.ID || !maps.Equal(got[i].rec.Fields, wantFields) {
				t.Errorf("record %d read back as %+v, want %+v", i, got[i].rec, crm.Record{ID: want.ID, Fields: wantFields})
			}
		}
	})
}

func TestReadRepeatedIDs(t *testing.T) {
	errs := []struct {
		name    string
		opts    ReadOptions
		input   string
		wantErr string
		// wantRows is how many rows fn saw before the error.
		wantRows int
	}{
		{"a repeated id is refused naming both lines",
			ReadOptions{}, "id,email\n1001,a@x.com\n1002,b@x.com\n1001,c@x.com\n",
			`contacts.csv:4: id: "1001" repeats line 2`, 2},
		{"ids are compared after trimming spaces",
			ReadOptions{}, "id,email\n1001,a@x.com\n 1001 ,c@x.com\n",
			`contacts.csv:3: id: "1001" repeats line 2`, 1},
		{"the lines named are the rows' first lines, after blank rows and multi-line cells",
			ReadOptions{}, "id,note\n7,\"two\nlines\"\n,\n7,x\n",
			`contacts.csv:5: id: "7" repeats line 2`, 1},
		{"a HubSpot export names its id column as written",
			ReadOptions{}, "Record ID,Email\n5,a@x.com\n5,b@x.com\n",
			`contacts.csv:3: Record ID: "5" repeats line 2`, 1},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			var rows []row
			err := ReadWith(strings.NewReader(tt.input), "contacts.csv", tt.opts, func(line int, rec crm.Record) error {
				rows = append(rows, row{line, rec})
				return nil
			})
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if len(rows) != tt.wantRows {
				t.Errorf("fn saw %d rows before the error, want %d", len(rows), tt.wantRows)
			}
		})
	}

	t.Run("ids differing only in case are different records", func(t *testing.T) {
		got, err := readAll(t, "id,email\nabc,a@x.com\nABC,b@x.com\n")
		if err != nil {
			t.Fatal(err)
		}
		if want := []row{r(2, "abc", "email", "a@x.com"), r(3, "ABC", "email", "b@x.com")}; !sameRows(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})

	t.Run("AllowRepeatedIDs passes every row on in file order", func(t *testing.T) {
		var got []row
		err := ReadWith(strings.NewReader("id,email\n1,a@x.com\n2,b@x.com\n1,c@x.com\n"), "contacts.csv",
			ReadOptions{AllowRepeatedIDs: true}, func(line int, rec crm.Record) error {
				got = append(got, row{line, rec})
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		want := []row{r(2, "1", "email", "a@x.com"), r(3, "2", "email", "b@x.com"), r(4, "1", "email", "c@x.com")}
		if !sameRows(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestReadAll(t *testing.T) {
	tests := []struct {
		name         string
		opts         ReadOptions
		input        string
		want         []row // lines are not returned; 0 here
		wantRepeated int
	}{
		{"every row becomes a record in file order",
			ReadOptions{}, "id,email\n1,a@x.com\n2,b@x.com\n",
			[]row{r(0, "1", "email", "a@x.com"), r(0, "2", "email", "b@x.com")}, 0},
		{"with AllowRepeatedIDs a repeated id is merged into its first row, later values winning",
			ReadOptions{AllowRepeatedIDs: true}, "id,email,phone\n1001,a@x.com,555\n1002,b@x.com,\n1001,newer@x.com,\n",
			[]row{r(0, "1001", "email", "newer@x.com", "phone", "555"), r(0, "1002", "email", "b@x.com")}, 1},
		{"each repeat is counted",
			ReadOptions{AllowRepeatedIDs: true}, "id,email\n1,a\n1,b\n1,c\n2,d\n2,e\n",
			[]row{r(0, "1", "email", "c"), r(0, "2", "email", "e")}, 3},
		{"a header without rows yields no records",
			ReadOptions{}, "id,email\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, repeated, err := ReadAll(strings.NewReader(tt.input), "contacts.csv", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for _, rec := range recs {
				got = append(got, row{0, rec})
			}
			if !sameRows(got, tt.want) || repeated != tt.wantRepeated {
				t.Errorf("ReadAll = %v, %d repeated; want %v, %d", got, repeated, tt.want, tt.wantRepeated)
			}
		})
	}

	t.Run("without AllowRepeatedIDs a repeated id is an error and no records are returned", func(t *testing.T) {
		recs, repeated, err := ReadAll(strings.NewReader("id,email\n1,a\n1,b\n"), "contacts.csv", ReadOptions{})
		if want := `contacts.csv:3: id: "1" repeats line 2`; err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
		if recs != nil || repeated != 0 {
			t.Errorf("got %v, %d repeated with the error", recs, repeated)
		}
	})
}
