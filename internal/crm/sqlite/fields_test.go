package sqlite

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// oddValues are values that have tripped up CSV and JSON code: escapes
// encoding/json writes (quotes, backslashes, control characters, <>&,
// U+2028), characters outside the BMP, and invalid UTF-8.
var oddValues = []string{
	"", "plain", `with "quotes"`, `back\slash`, "comma, here", "line\nbreak", "cr\r\nlf",
	"tab\there", "\x00nul\x01\x1f", "<b>&amp;</b>", "line\u2028sep\u2029para", "Zoë Ångström",
	"日本語", "emoji 😀 and 𝄞", "\xff\xfe invalid", "half \xe2\x82 rune", " leading space",
	"\u00a0nbsp first", `\.`, "\"", "\\", "/slash/", "\uFEFFbom",
}

// fieldsJSON is what the decoder must agree with encoding/json on: the
// layout crmops writes and the odd JSON another tool could leave.
func fieldsJSON() []string {
	out := []string{
		``, `{}`, ` { } `, `{"a":"1"}`, "{\n  \"a\" : \"1\" ,\n \"b\":\"\"\n}",
		`{"a":"1","a":"2"}`, `{"a":null}`, `{"a":1}`, `{"a":true}`, `{"a":["x"]}`, `{"a":{"b":"c"}}`,
		`{"\u0061":"\u00e9\u4e2d"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `{"a":"\udc00x"}`,
		`{"a":"\/\b\f\n\r\t\\\""}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12zz"}`, "{\"a\":\"raw\ttab\"}",
		`{"a":"1"} x`, `{"a":"1"}{}`, `{"a":"1",}`, `{"a" "1"}`, `{"a":"1"`, `{"a":`, `{"a`, `{`, `[]`, `null`,
		`"a"`, `{"a":"1"}  `, "{\"a\":\"\xff\"}", "{\"\xff\":\"x\"}", `{"A":"1","a":"2"}`,
		`{"a":"\u0000"}`, `{"a":"\u2028"}`, `{"a":"\uD834\uDD1E"}`,
	}
	for _, v := range oddValues {
		b, _ := json.Marshal(map[string]string{"k": v, v: "key " + v})
		out = append(out, string(b))
	}
	return out
}

// wantFields is what the stored JSON meant before this decoder: the whole
// object through encoding/json, then the wanted fields kept.
func wantFields(raw string, want []string) (map[string]string, error) {
	all := map[string]string{}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &all); err != nil {
			return nil, err
		}
	}
	if all == nil {
		all = map[string]string{}
	}
	if want == nil {
		return all, nil
	}
	out := map[string]string{}
	for _, f := range want {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out, nil
}

func TestFieldsDecoderAgreesWithEncodingJSON(t *testing.T) {
	for _, want := range [][]string{nil, {}, {"a", "k"}, {"b", "zz"}} {
		dec := newFieldsDecoder(want)
		for _, raw := range fieldsJSON() {
			checkDecode(t, dec, raw, want)
		}
	}
}

func checkDecode(t *testing.T, dec *fieldsDecoder, raw string, want []string) {
	t.Helper()
	exp, expErr := wantFields(raw, want)
	got, err := dec.decode([]byte(raw))
	if (err != nil) != (expErr != nil) {
		t.Errorf("decode %q (want %q): error %v, encoding/json says %v", raw, want, err, expErr)
		return
	}
	if err == nil && !maps.Equal(got, exp) {
		t.Errorf("decode %q (want %q) = %q, encoding/json gives %q", raw, want, got, exp)
	}
}

func TestFieldsDecoderRoundTripsRandomRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ09 ,\"\\\n\r\t\x00\x1f<>&é日😀\u2028\ufffd")
	str := func() string {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		if r.IntN(20) == 0 {
			b.WriteString("\xc3") // a truncated rune
		}
		return b.String()
	}
	all := newFieldsDecoder(nil)
	some := newFieldsDecoder([]string{"a", "b"})
	for range 3000 {
		m := map[string]string{}
		for range r.IntN(6) {
			m[str()] = str()
		}
		if r.IntN(3) == 0 {
			m["a"] = str()
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, all, string(b), nil)
		checkDecode(t, some, string(b), []string{"a", "b"})
	}
}

func FuzzFieldsDecoder(f *testing.F) {
	for _, raw := range fieldsJSON() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		checkDecode(t, newFieldsDecoder(nil), raw, nil)
		checkDecode(t, newFieldsDecoder([]string{"a"}), raw, []string{"a"})
	})
}

// BenchmarkDecodeFields compares reading a typical seeded contact's fields
// as List did (encoding/json into a map of every field, then the wanted
// ones copied out) with the one-pass decoder, for all fields and for the
// few a detector asks for.
//
//	go test ./internal/crm/sqlite/ -run '^$' -bench DecodeFields
func BenchmarkDecodeFields(b *testing.B) {
	raw := []byte(`{"company":"c-018894","created":"2019-01-07T08:03:14Z","email":"declan.papadopoulos@cobaltcoresecurity.ai","firstname":"Declan","jobtitle":"Founder","lastname":"Papadopoulos","lifecyclestage":"customer","owner":"o-04","phone":"312-798-9170 ext. 20"}`)
	for _, want := range [][]string{nil, {"email", "firstname", "lastname", "phone", "company"}} {
		name := "all"
		if want != nil {
			name = "five"
		}
		b.Run("encoding-json/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wantFields(string(raw), want); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decoder/"+name, func(b *testing.B) {
			b.ReportAllocs()
			dec := newFieldsDecoder(want)
			for b.Loop() {
				if _, err := dec.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
