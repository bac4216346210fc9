package csvio

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendCellWritesWhatWriterWrites checks the byte-level writer against
// encoding/csv on cells that need quoting for every reason it has.
func TestAppendCellWritesWhatWriterWrites(t *testing.T) {
	cells := []string{
		"", "plain", "a,b", `say "hi"`, `"`, "line\nbreak", "cr\rhere", "crlf\r\n", `\.`, `\.x`,
		" leading", "\tleading tab", "\u00a0nbsp", "\u2028sep", "\u0085nel", "trailing ", "é", "日本",
		"\xff invalid", "\xe2\x80", "😀", "\x00nul", "=formula", "a\"\"b",
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("a ,\"\r\n\t\\.\u00a0\u2028é\x00")
	for range 2000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		cells = append(cells, b.String())
	}
	for i := 0; i < len(cells); i += 3 {
		row := cells[i:min(i+3, len(cells))]
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		if err := cw.Write(row); err != nil {
			t.Fatal(err)
		}
		cw.Flush()
		var got []byte
		for j, c := range row {
			if j > 0 {
				got = append(got, ',')
			}
			got = AppendCell(got, []byte(c))
		}
		got = append(got, '\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("row %q: AppendCell wrote %q, encoding/csv %q", row, got, want.Bytes())
		}
	}
}

func TestColumnsAreWhatWriterWrites(t *testing.T) {
	fields := []string{"b", "id", "a", "b"}
	var buf bytes.Buffer
	w := NewWriter(&buf, fields)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := "id," + strings.Join(Columns(fields), ",") + "\n"
	if got != buf.String() {
		t.Errorf("Columns gives header %q, Writer wrote %q", got, buf.String())
	}
}
