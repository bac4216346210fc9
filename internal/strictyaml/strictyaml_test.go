package strictyaml_test

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/strictyaml"
)

// item and doc are a small schema shaped like a batch: required keys, a
// float, an int, a timestamp, a list of mappings, a map and positions.
type item struct {
	Name       string            `yaml:"name" strict:"required"`
	Confidence float64           `yaml:"confidence"`
	Count      int               `yaml:"count"`
	Tags       map[string]string `yaml:"tags"`

	Pos strictyaml.Pos `yaml:"-"`
}

type doc struct {
	Version int       `yaml:"version" strict:"required"`
	Created time.Time `yaml:"created"`
	Title   string    `yaml:"title"`
	Items   []item    `yaml:"items"`

	Pos strictyaml.Pos `yaml:"-"`
}

// decodeErr decodes data and returns the *strictyaml.Error it must fail with.
func decodeErr(t *testing.T, file string, data []byte) *strictyaml.Error {
	t.Helper()
	var d doc
	err := strictyaml.Decode(file, data, &d)
	if err == nil {
		t.Fatalf("Decode(%s) succeeded, want an error", file)
	}
	var e *strictyaml.Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode(%s) error %T %q is not a *strictyaml.Error", file, err, err)
	}
	return e
}

func TestDecodeErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name string
		data string
		line int
		key  string
		// msg fragments the error text must hold, beyond file, line and key.
		msg []string
	}{
		{
			name: "an unknown key is refused and the known keys are listed",
			data: "version: 1\ntitel: typo\n",
			line: 2, key: "titel",
			msg: []string{"unknown key", "known keys: created, items, title, version"},
		},
		{
			name: "an unknown key inside a list item names the item's path",
			data: "version: 1\nitems:\n  - name: a\n    confidance: 0.9\n",
			line: 4, key: "items[0].confidance",
			msg: []string{"unknown key", "confidence", "count", "name", "tags"},
		},
		{
			name: "a missing required top-level key is refused",
			data: "title: no version\n",
			line: 1, key: "version",
			msg: []string{"missing required key"},
		},
		{
			name: "a missing required key in a list item points at the item",
			data: "version: 1\nitems:\n  - name: a\n  - confidence: 0.5\n",
			line: 4, key: "items[1].name",
			msg: []string{"missing required key"},
		},
		{
			name: "a word where a number belongs is a wrong type",
			data: "version: 1\nitems:\n  - name: a\n    confidence: high\n",
			line: 4, key: "items[0].confidence",
			msg: []string{"want a number", `"high"`},
		},
		{
			name: "a quoted number is not taken as a float",
			data: "version: 1\nitems:\n  - name: a\n    confidence: \"0.9\"\n",
			line: 4, key: "items[0].confidence",
			msg: []string{"want a number", `"0.9"`},
		},
		{
			name: "a quoted number is not taken as a whole number",
			data: "version: \"1\"\n",
			line: 1, key: "version",
			msg: []string{"want a whole number"},
		},
		{
			name: "a fraction is not taken as a whole number",
			data: "version: 1\nitems:\n  - name: a\n    count: 2.5\n",
			line: 4, key: "items[0].count",
			msg: []string{"want a whole number"},
		},
		{
			name: "a list where a string belongs is a wrong type",
			data: "version: 1\ntitle: [a, b]\n",
			line: 2, key: "title",
			msg: []string{"want a string", "list"},
		},
		{
			name: "a value where a list belongs is a wrong type",
			data: "version: 1\nitems: none\n",
			line: 2, key: "items",
			msg: []string{"want a list"},
		},
		{
			name: "a word where a timestamp belongs is a wrong type",
			data: "version: 1\ncreated: yesterday\n",
			line: 2, key: "created",
			msg: []string{"timestamp"},
		},
		{
			name: "a duplicate key is refused at its second occurrence",
			data: "version: 1\ntitle: a\ntitle: b\n",
			line: 3, key: "title",
			msg: []string{"duplicate key"},
		},
		{
			name: "a duplicate key inside a list item is refused",
			data: "version: 1\nitems:\n  - name: a\n    name: b\n",
			line: 4, key: "items[0].name",
			msg: []string{"duplicate key"},
		},
		{
			name: "an anchor and alias are refused",
			data: "version: 1\nitems:\n  - &one {name: a}\n  - *one\n",
			line: 3,
			msg:  []string{"aliases and anchors are not allowed"},
		},
		{
			name: "a merge key built on an alias is refused",
			data: "version: 1\nbase: &b {name: a}\nitems:\n  - <<: *b\n",
			line: 2,
			msg:  []string{"aliases and anchors are not allowed"},
		},
		{
			name: "a syntax error names its line",
			data: "version: 1\ntitle: a\n  nested: wrong\n",
			line: 3,
			msg:  []string{"invalid YAML"},
		},
		{
			name: "a tab used for indentation is a syntax error with its line",
			data: "version: 1\nitems:\n\t- name: a\n",
			line: 3,
			msg:  []string{"invalid YAML"},
		},
		{
			name: "a byte sequence that is not UTF-8 is refused with its line",
			data: "version: 1\ntitle: ok\ntitle2: caf\xe9\n",
			line: 3,
			msg:  []string{"not valid UTF-8"},
		},
		{
			name: "a document that is not a mapping is refused",
			data: "- just\n- a list\n",
			line: 1,
			msg:  []string{"want a mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const file = "proposals/x.yaml"
			e := decodeErr(t, file, []byte(tt.data))
			if e.File != file {
				t.Errorf("File = %q, want %q", e.File, file)
			}
			if e.Line != tt.line {
				t.Errorf("Line = %d, want %d (error %q)", e.Line, tt.line, e)
			}
			if e.Key != tt.key {
				t.Errorf("Key = %q, want %q (error %q)", e.Key, tt.key, e)
			}
			msg := e.Error()
			want := file + ":" + strconv.Itoa(tt.line) + ": "
			if tt.key != "" {
				want += tt.key + ": "
			}
			if !strings.HasPrefix(msg, want) {
				t.Errorf("error %q does not start with %q", msg, want)
			}
			for _, frag := range tt.msg {
				if !strings.Contains(msg, frag) {
					t.Errorf("error %q does not mention %q", msg, frag)
				}
			}
		})
	}
}

func TestDecodeRefusesFilesItCannotTrust(t *testing.T) {
	t.Run("an empty file is refused and named", func(t *testing.T) {
		for _, data := range []string{"", "\n\n", "# only a comment\n"} {
			e := decodeErr(t, "empty.yaml", []byte(data))
			if !strings.Contains(e.Error(), "empty.yaml") || !strings.Contains(e.Error(), "empty") {
				t.Errorf("Decode(%q) = %q, want it to say the file is empty", data, e)
			}
		}
	})
	t.Run("a file over 10 MiB is refused before it is parsed", func(t *testing.T) {
		// Valid YAML that would decode if size were not checked.
		data := append([]byte("version: 1\ntitle: "), bytes.Repeat([]byte("a"), strictyaml.MaxSize)...)
		start := time.Now()
		e := decodeErr(t, "big.yaml", data)
		if !strings.Contains(e.Error(), "big.yaml") || !strings.Contains(e.Error(), "limit") {
			t.Errorf("error %q does not name the file and the size limit", e)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("refusing an oversized file took %v; it should not parse it", d)
		}
	})
	t.Run("a file of exactly 10 MiB is still read", func(t *testing.T) {
		if testing.Short() {
			t.Skip("parses 10 MiB of YAML")
		}
		head := "version: 1\ntitle: "
		data := append([]byte(head), bytes.Repeat([]byte("a"), strictyaml.MaxSize-len(head))...)
		var d doc
		if err := strictyaml.Decode("edge.yaml", data, &d); err != nil {
			t.Fatalf("Decode of a %d-byte file: %v", len(data), err)
		}
		if len(d.Title) != strictyaml.MaxSize-len(head) {
			t.Errorf("title has %d bytes, want %d", len(d.Title), strictyaml.MaxSize-len(head))
		}
	})
	t.Run("a billion-laughs file is refused quickly without growing memory", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("version: 1\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
		for i := 1; i <= 9; i++ {
			p := "*l" + strconv.Itoa(i-1)
			b.WriteString("l" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [" + strings.Repeat(p+", ", 9) + p + "]\n")
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		e := decodeErr(t, "laughs.yaml", []byte(b.String()))
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if !strings.Contains(e.Error(), "aliases") {
			t.Errorf("error %q does not say aliases are refused", e)
		}
		if elapsed > time.Second {
			t.Errorf("refusing took %v, want well under a second", elapsed)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("refusing allocated %d MiB; the aliases were expanded", grew>>20)
		}
	})
	t.Run("a non-UTF-8 byte on the first line is reported on line 1", func(t *testing.T) {
		e := decodeErr(t, "latin1.yaml", []byte("title: \xff\nversion: 1\n"))
		if e.Line != 1 {
			t.Errorf("Line = %d, want 1", e.Line)
		}
	})
}

func TestDecodeAcceptsWhatItShould(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		check func(t *testing.T, d doc)
	}{
		{
			name: "a plain number fills a float and a string alike",
			data: "version: 1\ntitle: 1001\nitems:\n  - name: 0.97\n    confidence: 0.97\n",
			check: func(t *testing.T, d doc) {
				if d.Title != "1001" || d.Items[0].Name != "0.97" || d.Items[0].Confidence != 0.97 {
					t.Errorf("got %+v", d)
				}
			},
		},
		{
			name: "a whole number fills a float",
			data: "version: 1\nitems:\n  - name: a\n    confidence: 1\n",
			check: func(t *testing.T, d doc) {
				if d.Items[0].Confidence != 1 {
					t.Errorf("confidence = %v, want 1", d.Items[0].Confidence)
				}
			},
		},
		{
			name: "a timestamp fills a time",
			data: "version: 1\ncreated: 2026-11-24T06:00:00Z\n",
			check: func(t *testing.T, d doc) {
				if want := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC); !d.Created.Equal(want) {
					t.Errorf("created = %v, want %v", d.Created, want)
				}
			},
		},
		{
			name: "a flow mapping fills a map",
			data: "version: 1\nitems:\n  - name: a\n    tags: {email: a@x.com, firstname: Ann}\n",
			check: func(t *testing.T, d doc) {
				if d.Items[0].Tags["email"] != "a@x.com" || d.Items[0].Tags["firstname"] != "Ann" {
					t.Errorf("tags = %v", d.Items[0].Tags)
				}
			},
		},
		{
			name: "JSON is read as YAML",
			data: `{"version": 1, "items": [{"name": "a", "confidence": 0.5}]}`,
			check: func(t *testing.T, d doc) {
				if d.Version != 1 || len(d.Items) != 1 || d.Items[0].Confidence != 0.5 {
					t.Errorf("got %+v", d)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			if err := strictyaml.Decode("ok.yaml", []byte(tt.data), &d); err != nil {
				t.Fatal(err)
			}
			tt.check(t, d)
		})
	}
}

func TestDecodeAtShiftsLines(t *testing.T) {
	tests := []struct {
		name      string
		firstLine int
		data      string
		wantLine  int
	}{
		{"an unknown key on line 1 of data starting at line 7 is on line 7", 7, `{"version": 1, "bogus": 2}`, 7},
		{"a wrong type on line 2 of data starting at line 10 is on line 11", 10, "version: 1\nitems: nope\n", 11},
		{"a missing key is on the mapping's shifted line", 3, "title: x\n", 3},
		{"a syntax error is on its shifted line", 20, "version: 1\nitems: [\n", 21},
		{"a non-UTF-8 byte is on its shifted line", 5, "version: 1\ntitle: \xff\n", 6},
		{"an alias is on its shifted line", 100, "version: 1\ntitle: &t x\n", 101},
		{"data starting at line 1 is not shifted", 1, "version: 1\nbogus: 1\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := strictyaml.DecodeAt("in.jsonl", tt.firstLine, []byte(tt.data), &d)
			var e *strictyaml.Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeAt error = %v, want a *strictyaml.Error", err)
			}
			if e.Line != tt.wantLine {
				t.Errorf("Line = %d, want %d (error %q)", e.Line, tt.wantLine, e)
			}
			if want := "in.jsonl:" + strconv.Itoa(tt.wantLine) + ":"; !strings.HasPrefix(e.Error(), want) {
				t.Errorf("error %q does not start with %q", e, want)
			}
		})
	}
	t.Run("positions recorded by DecodeAt are shifted too", func(t *testing.T) {
		var d doc
		if err := strictyaml.DecodeAt("in.jsonl", 40, []byte("version: 1\nitems:\n  - name: a\n    count: 2\n"), &d); err != nil {
			t.Fatal(err)
		}
		if d.Pos.Line != 40 || d.Pos.KeyLine("items") != 41 {
			t.Errorf("doc at line %d, items at %d; want 40 and 41", d.Pos.Line, d.Pos.KeyLine("items"))
		}
		if p := d.Items[0].Pos; p.Line != 42 || p.KeyLine("count") != 43 {
			t.Errorf("item at line %d, count at %d; want 42 and 43", p.Line, p.KeyLine("count"))
		}
	})
}

func TestPos(t *testing.T) {
	var d doc
	data := "version: 1\n\ntitle: x\nitems:\n  - name: a\n\n    confidence: 0.5\n  - name: b\n"
	if err := strictyaml.Decode("pos.yaml", []byte(data), &d); err != nil {
		t.Fatal(err)
	}
	first, second := d.Items[0].Pos, d.Items[1].Pos
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"the top mapping starts on line 1", d.Pos.Line, 1},
		{"a key's line is where the key is written", d.Pos.KeyLine("title"), 3},
		{"an absent key's line falls back to the mapping's line", d.Pos.KeyLine("created"), 1},
		{"a list item's mapping starts on its dash line", first.Line, 5},
		{"a key after a blank line keeps its own line", first.KeyLine("confidence"), 7},
		{"an absent key in the second item falls back to that item's line", second.KeyLine("confidence"), 8},
		{"Has is true for a key written in the file", first.Has("confidence"), true},
		{"Has is false for a key not written in the file", second.Has("confidence"), false},
		{"Has is false for a key with no field", d.Pos.Has("bogus"), false},
		{"a list item's path is indexed", second.Path, "items[1]"},
		{"KeyPath joins the item's path and the key", second.KeyPath("confidence"), "items[1].confidence"},
		{"the top mapping's path is empty", d.Pos.KeyPath("title"), "title"},
		{"a zero Pos has no keys", strictyaml.Pos{}.Has("x"), false},
		{"a zero Pos has line 0 for any key", strictyaml.Pos{}.KeyLine("x"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	t.Run("Errorf points at the key's line and path", func(t *testing.T) {
		e := first.Errorf("pos.yaml", "confidence", "%v is too low", 0.5)
		if got, want := e.Error(), "pos.yaml:7: items[0].confidence: 0.5 is too low"; got != want {
			t.Errorf("Errorf = %q, want %q", got, want)
		}
	})
	t.Run("Errorf without a key points at the mapping", func(t *testing.T) {
		e := second.Errorf("pos.yaml", "", "bad item")
		if got, want := e.Error(), "pos.yaml:8: items[1]: bad item"; got != want {
			t.Errorf("Errorf = %q, want %q", got, want)
		}
	})
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  strictyaml.Error
		want string
	}{
		{"an error with line and key reads file:line: key: message", strictyaml.Error{File: "f.yaml", Line: 3, Key: "a.b", Msg: "bad"}, "f.yaml:3: a.b: bad"},
		{"an error without a line omits it", strictyaml.Error{File: "f.yaml", Key: "a", Msg: "bad"}, "f.yaml: a: bad"},
		{"an error without a key omits it", strictyaml.Error{File: "f.yaml", Line: 2, Msg: "bad"}, "f.yaml:2: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeRefusesDuplicateMapKeysAndControlCharacters(t *testing.T) {
	tests := []struct {
		name string
		data string
		line int
		key  string
		msg  string
	}{
		{
			name: "a duplicate key inside a free-form map is refused",
			data: "version: 1\nitems:\n  - name: a\n    tags: {email: a@x.com, email: b@x.com}\n",
			line: 4, key: "items[0].tags.email", msg: "duplicate key",
		},
		{
			name: "a control character is refused with its line",
			data: "version: 1\ntitle: a\x01b\n",
			line: 2, msg: "control characters",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeErr(t, "gap.yaml", []byte(tt.data))
			if e.Line != tt.line || e.Key != tt.key || !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("error %q: want line %d, key %q, message with %q", e, tt.line, tt.key, tt.msg)
			}
		})
	}
}

func TestAFileHoldsExactlyOneDocument(t *testing.T) {
	type doc struct {
		A string `yaml:"a"`
	}
	tests := []struct {
		name, text string
		line       int
	}{
		{"a second document after ---", "a: x\n---\na: y\n", 2},
		{"an empty second document", "a: x\n---\n", 0},
		{"a second document that is not even valid", "a: x\n---\n: : [\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			var d doc
			err := strictyaml.Decode("f.yaml", []byte(tt.text), &d)
			var e *strictyaml.Error
			if !errors.As(err, &e) || !strings.Contains(e.Msg, "second YAML document") {
				t.Fatalf("Decode = %v, want a second-document error", err)
			}
			if tt.line > 0 && e.Line != tt.line {
				t.Errorf("line %d, want %d", e.Line, tt.line)
			}
		})
	}
	t.Run("a leading --- is one document", func(t *testing.T) {
		var d doc
		if err := strictyaml.Decode("f.yaml", []byte("---\na: x\n"), &d); err != nil || d.A != "x" {
			t.Fatalf("Decode = %v, %+v", err, d)
		}
	})
}
