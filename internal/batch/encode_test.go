package batch

import (
	"bytes"
	"fmt"

	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/schema"
)

// legacyEncode is EncodeAt as it was before the fast encoder: yaml.v3 on
// the structs, with Change.MarshalYAML as it was (its values' errors
// dropped). The fast encoder must write its bytes wherever they read back.
func legacyEncode(file string, v any) ([]byte, error) {
	var buf bytes.Buffer
	switch v := v.(type) {
	case *Batch:
		buf.WriteString(SchemaComment(file, schema.Batch))
		lb := legacyBatch{Version: v.Version, ID: v.ID, Created: v.Created, Detector: v.Detector, Title: v.Title, Review: v.Review, Agent: v.Agent}
		lb.Changes = []legacyChange{}
		for _, c := range v.Changes {
			lb.Changes = append(lb.Changes, legacyChange(c))
		}
		if v.Changes == nil {
			lb.Changes = nil
		}
		return legacyYAML(&buf, lb)
	case *Receipt:
		buf.WriteString(SchemaComment(file, schema.Receipt))
	case *Rejection:
		buf.WriteString(SchemaComment(file, schema.Rejection))
	}
	return legacyYAML(&buf, v)
}

func legacyYAML(buf *bytes.Buffer, v any) ([]byte, error) {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type legacyBatch struct {
	Version  int            `yaml:"version"`
	ID       string         `yaml:"batch"`
	Created  time.Time      `yaml:"created"`
	Detector string         `yaml:"detector"`
	Title    string         `yaml:"title"`
	Review   string         `yaml:"review,omitempty"`
	Agent    string         `yaml:"agent,omitempty"`
	Changes  []legacyChange `yaml:"changes"`
}

type legacyChange Change

func (c legacyChange) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v any) {
		var vn yaml.Node
		_ = vn.Encode(v)
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &vn)
	}
	add("id", c.ID)
	add("kind", c.Kind)
	add("object", c.Object)
	add("record", c.Record)
	add("op", c.Op)
	if Change(c).TwoRecords() {
		add("merge_from", c.MergeFrom)
	} else {
		add("field", c.Field)
		add("before", c.Before)
		add("after", c.After)
	}
	add("source", c.Source)
	add("confidence", c.Confidence)
	if c.Trigger != "" {
		add("trigger", c.Trigger)
	}
	if c.Reason != "" {
		add("reason", c.Reason)
	}
	if len(c.Snapshot) > 0 {
		add("snapshot", c.Snapshot)
	}
	if len(c.SurvivorSnapshot) > 0 {
		add("survivor_snapshot", c.SurvivorSnapshot)
	}
	if c.Follows != "" {
		add("follows", c.Follows)
	}
	return m, nil
}

// pieces are what adversarial strings are made of: YAML's indicators,
// keywords and numbers, quotes, escapes, blanks, line breaks, control
// characters and Unicode beyond ASCII.
var pieces = []string{
	"", "a", "VP Sales", "Ann", "1001", "c1", "yes", "no", "Yes", "NO", "y", "n", "on", "off", "null", "Null", "~", "true", "False",
	"0", "0.5", "1e3", "1E-7", "0x1F", "0o17", "0b101", "-0b1", "-0o7", "1_000", "0777", "089", "12:30", "1:20:30.5", "+1", "-1", ".5", "+.5",
	".inf", "-.Inf", ".nan", "<<", "2026-11-24", "2026-1-2", "2026-11-24T06:00:00Z", "2026-11-24 06:00:00", "2026-13-45",
	"-", "- a", "-a", "--", "---", "...", "a: b", "a:b", "a:", ":a", ": a", "?a", "? a", "#x", "a #b", "a#b", "a# b",
	"'", "''", "it's", "\"", "say \"hi\"", "\\", "back\\slash", "a,b", "[a]", "{a: b}", "a]", "&a", "*a", "!t", "!!str", "|", ">", "%", "@x", "`x",
	" ", " lead", "trail ", "a  b", "\t", "\ttab", "a\tb", "tab\t",
	"\n", "multi\nline", "\nlead", "trail\n", "x\n\n", "\n\n", "a\n b", "a \nb", "a\n\tb", "\tb\nc", "\r", "a\r\nb", "\u0085", "a\u2028b", "\u2029",
	"\x00", "\x01", "\x1b[0m", "\x7f", "\u009f", "\ufeff", "\ufffd", "\uffff", "\ue000", "é", "Ünïcode", "日本語", "😀", "\u00a0", "a\u00a0b", "\u0301",
	"https://example.com/a?b=c&d=e#frag", "k=v&x=y", "p@example.com", "+49 30 1234567", "(555) 123-4567", "100%", "$5", "a;b", "x*y", "!", "a!",
	strings.Repeat("long ", 60), strings.Repeat("9", 400), strings.Repeat("x", 130),
}

type gen struct{ r *rand.Rand }

// str is up to three pieces run together.
func (g gen) str() string {
	var b strings.Builder
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		b.WriteString(pieces[g.r.IntN(len(pieces))])
	}
	return b.String()
}

// flowStr is str without U+2028 and U+2029, which yaml.v3 writes in a flow
// sequence with an indentation the fast path leaves to it (it writes the
// whole file).
func (g gen) flowStr() string {
	return strings.NewReplacer("\u2028", "", "\u2029", "").Replace(g.str())
}

// pick is one of list.
func (g gen) pick(list ...string) string { return list[g.r.IntN(len(list))] }

func (g gen) time() time.Time {
	t := time.Date(2026, time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), 0, time.UTC)
	switch g.r.IntN(6) {
	case 0:
		return t.Add(time.Duration(g.r.IntN(1e9)))
	case 1:
		return t.In(time.FixedZone("CET", 3600))
	case 2:
		return time.Time{}
	}
	return t
}

func (g gen) confidence() float64 {
	return []float64{0, 1, 0.5, 0.97, 1.0 / 3, 1e-7, 0.1 + 0.2, g.r.Float64()}[g.r.IntN(8)]
}

func (g gen) strMap() map[string]string {
	m := map[string]string{}
	for n := g.r.IntN(5); n > 0; n-- {
		k := g.pick("email", "firstname", "hs_object_id", "City", "address2", "address10", "a_b", "x.y", "z-1")
		if g.r.IntN(3) == 0 {
			k = g.flowStr() // keys with U+2028 or U+2029 are yaml.v3's to write whole
		}
		m[k] = g.str()
	}
	return m
}

// batch is a random batch; valid makes it one Decode accepts (the
// adversarial strings stand where any string may).
func (g gen) batch(valid bool) *Batch {
	s := g.str
	b := &Batch{Version: 1, ID: "20261124T060000Z-x-" + fmt.Sprint(g.r.IntN(1e6)), Created: g.time().Truncate(time.Second).UTC(), Detector: s(), Title: s()}
	if g.r.IntN(3) == 0 {
		b.Review = s()
	}
	if g.r.IntN(4) == 0 {
		b.Agent = g.pick("claude", "agent-1", "x.y")
	}
	if !valid {
		b.Created = g.time()
	}
	for i := 0; i < 1+g.r.IntN(4); i++ {
		c := Change{ID: fmt.Sprintf("c%d", i+1), Kind: g.pick(Kinds...), Object: "contacts", Record: s(), Source: s(), Confidence: g.confidence(), Reason: s()}
		if g.r.IntN(2) == 0 {
			c.Trigger = g.pick(Triggers...)
		}
		if g.r.IntN(3) == 0 {
			c.Snapshot = g.strMap()
		}
		if g.r.IntN(3) == 0 {
			c.Kind, c.Op, c.MergeFrom = "dedupe", OpMerge, s()
			if g.r.IntN(2) == 0 {
				c.SurvivorSnapshot = g.strMap()
			}
		} else {
			c.Op, c.Field, c.Before, c.After = OpSet, g.pick("jobtitle", "email", "hs_lead_status", "x.y"), s(), s()
			if c.Kind == "dedupe" {
				c.Kind = "custom"
			}
		}
		if !valid {
			c.ID, c.Kind, c.Object, c.Field = s(), s(), s(), s()
		} else {
			c.Record = validRecord(c.Record)
			if c.Op == OpMerge {
				c.MergeFrom = validRecord(c.MergeFrom) + "m"
			}
			if c.Source == "" {
				c.Source = "clay"
			}
			if c.Op == OpSet && c.Before == c.After {
				c.After += "!"
			}
		}
		if c.TwoRecords() {
			c.Field, c.Before, c.After = "", "", "" // a merge's file has none
		} else {
			c.MergeFrom = ""
		}
		b.Changes = append(b.Changes, c)
	}
	if valid && b.Detector == "" {
		b.Detector = "d"
	}
	if !valid && g.r.IntN(20) == 0 {
		b.Changes = nil
	}
	return b
}

// validRecord makes s a record id Validate accepts.
func validRecord(s string) string {
	s = strings.NewReplacer("/", "", "\n", "", "\r", "").Replace(s)
	if strings.TrimSpace(s) == "" {
		s += "1001"
	}
	return s
}

func (g gen) receipt(valid bool) *Receipt {
	s := g.str
	r := &Receipt{Version: 1, Batch: "20261124T060000Z-x-" + fmt.Sprint(g.r.IntN(1e6)), ExecutedBy: s(),
		Approval: Approval{Mode: g.pick(ModeAuto, ModeApproved, ModeRefused), Policy: s(), Proposer: s(), Refused: s()}}
	if g.r.IntN(2) == 0 {
		r.MergeCommit, r.BatchBlob = s(), s()
	}
	if g.r.IntN(2) == 0 {
		r.Approval.PullRequest = g.r.IntN(1000)
	}
	for n := g.r.IntN(3); n > 0; n-- {
		r.Approval.Approvers = append(r.Approval.Approvers, Approver{Login: s(), At: g.time()})
	}
	for n := g.r.IntN(3); n > 0; n-- {
		r.Approval.Rules = append(r.Approval.Rules, g.pick("enrichment-fill-empty", "rule.1", g.flowStr()))
	}
	for n := g.r.IntN(3); n > 0; n-- {
		m := Modification{Commit: s(), By: s()}
		for k := g.r.IntN(3); k > 0; k-- {
			m.Changes = append(m.Changes, g.pick("c1", "1", g.flowStr()))
		}
		r.Modified = append(r.Modified, m)
	}
	for i := 0; i < g.r.IntN(6); i++ {
		status := g.pick(statuses...)
		if !valid {
			status = s()
		}
		r.Changes = append(r.Changes, ChangeResult{ID: fmt.Sprintf("c%d", i+1), Status: status, ObservedBefore: s(), After: s(), At: g.time(), Error: s()})
	}
	return r
}

func (g gen) rejection() *Rejection {
	s := g.str
	r := &Rejection{Version: 1, Batch: s(), RejectedBy: s(), At: g.time(), Reason: s(), PullRequest: g.r.IntN(3)}
	for n := g.r.IntN(3); n > 0; n-- {
		r.Changes = append(r.Changes, RejectedChange{ID: s(), Object: s(), Record: s(), Op: s(), Field: s(), After: s(), MergeFrom: s()})
	}
	return r
}

// valueTexts lists every value v holds, as text, in a fixed order: two
// values whose files read back alike have equal texts.
func valueTexts(v any) []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			if t, ok := v.Interface().(time.Time); ok {
				out = append(out, t.UTC().Format(time.RFC3339Nano))
				return
			}
			for i := 0; i < v.NumField(); i++ {
				if f := v.Type().Field(i); f.IsExported() && f.Tag.Get("yaml") != "-" {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			out = append(out, "["+strconv.Itoa(v.Len()))
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			out = append(out, "{"+strconv.Itoa(v.Len()))
			for _, k := range keys {
				out = append(out, k.String(), v.MapIndex(k).String())
			}
		default:
			out = append(out, fmt.Sprint(v.Interface()))
		}
	}
	walk(reflect.ValueOf(v))
	return out
}

// readsBack reports whether data, read by yaml.v3 into a fresh value of
// v's type, holds v's values.
func readsBack(data []byte, v any) bool {
	back := reflect.New(reflect.TypeOf(v).Elem())
	if err := yaml.Unmarshal(data, back.Interface()); err != nil {
		return false
	}
	return slices.Equal(valueTexts(v), valueTexts(back.Interface()))
}

// agree holds Encode to yaml.v3's bytes for v, where yaml.v3 writes a file
// that reads back as v; where it does not, Encode must write one that does.
// It returns whether yaml.v3's file read back.
func agree(t *testing.T, file string, v any) bool {
	t.Helper()
	want, wantErr := legacyEncode(file, v)
	got, err := EncodeAt(file, v)
	legacyReads := wantErr == nil && readsBack(want, v)
	if err != nil {
		if legacyReads {
			t.Fatalf("EncodeAt: %v\nvalue: %#v", err, v)
		}
		// yaml.v3 writes the whole file and it does not read back: an
		// error, rather than a file that says something else.
		return false
	}
	if legacyReads {
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeAt differs from yaml.v3 for %#v\n--- yaml.v3\n%s\n--- EncodeAt\n%s", v, want, got)
		}
		return true
	}
	if !readsBack(got, v) {
		back := reflect.New(reflect.TypeOf(v).Elem())
		err := yaml.Unmarshal(got, back.Interface())
		t.Fatalf("EncodeAt wrote a file that does not read back (%v):\n%q\n%q\n%s", err, valueTexts(v), valueTexts(back.Interface()), got)
	}
	return false
}

// Thousands of batches, receipts and rejections of adversarial strings
// are written byte for byte as yaml.v3 writes them, and read back as they
// were: by yaml.v3, and, for valid ones, by Decode and DecodeReceipt.
func TestEncodeAgreesWithYAML(t *testing.T) {
	t.Parallel()
	g := gen{rand.New(rand.NewPCG(1, 14))}
	n := 3000
	if testing.Short() {
		n = 300
	}
	fixed := 0
	for i := 0; i < n; i++ {
		valid := i%2 == 0
		b := g.batch(valid)
		if !agree(t, Path(b.ID), b) {
			fixed++
		}
		if valid {
			data, err := Encode(b)
			if err != nil {
				e := &encoder{}
				e.batch(b)
				t.Fatalf("%v (fast path: %s)\n%#v", err, e.why, b)
			}
			back, err := Decode(Path(b.ID), data)
			if err != nil {
				t.Fatalf("Decode(Encode(b)): %v\n%s", err, data)
			}
			if !slices.Equal(valueTexts(b), valueTexts(back)) {
				t.Fatalf("Decode(Encode(b)) differs from b:\n%q\n%q\n%s", valueTexts(b), valueTexts(back), data)
			}
		}
		r := g.receipt(valid)
		file := ReceiptPath(Path(r.Batch))
		if !agree(t, file, r) {
			fixed++
		}
		if valid {
			data, err := EncodeAt(file, r)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeReceipt(file, data)
			if err != nil {
				t.Fatalf("DecodeReceipt(Encode(r)): %v\n%s", err, data)
			}
			if !slices.Equal(valueTexts(r), valueTexts(back)) {
				t.Fatalf("DecodeReceipt(Encode(r)) differs from r:\n%q\n%q\n%s", valueTexts(r), valueTexts(back), data)
			}
		}
		if i%5 == 0 {
			rj := g.rejection()
			if !agree(t, "proposals/x.rejected.yaml", rj) {
				fixed++
			}
		}
	}
	t.Logf("%d files yaml.v3 writes so that they do not read back, written so that they do", fixed)
}

// yaml.v3 writes a string whose first line starts with a tab as a block
// scalar it then refuses ("found a tab character where an indentation
// space is expected"), loses a leading line break, and through
// Change.MarshalYAML wrote such values as null. Encode writes them
// double-quoted, and Decode reads back what was encoded.
func TestEncodeWritesWhatDecodeReads(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"\tindented\nsecond line", "\n\tb", "\nleading break", "\n", "\n\n", "x\n\ty"} {
		b := &Batch{Version: 1, ID: "20261124T060000Z-x-1", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "d", Title: s,
			Changes: []Change{{ID: "c1", Kind: "custom", Object: "contacts", Record: "1001", Op: OpSet, Field: "notes", Before: "", After: s + "!",
				Source: "clay", Confidence: 1, Reason: s, Snapshot: map[string]string{"notes": s}}}}
		data, err := Encode(b)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		back, err := Decode(Path(b.ID), data)
		if err != nil {
			t.Fatalf("%q: Decode(Encode(b)): %v\n%s", s, err, data)
		}
		c := back.Changes[0]
		if back.Title != s || c.After != s+"!" || c.Reason != s || c.Snapshot["notes"] != s {
			t.Errorf("%q: read back title %q, after %q, reason %q, snapshot %q\n%s", s, back.Title, c.After, c.Reason, c.Snapshot["notes"], data)
		}
		r := &Receipt{Version: 1, Batch: b.ID, Approval: Approval{Mode: ModeAuto}, ExecutedBy: "crmops/test",
			Changes: []ChangeResult{{ID: "c1", Status: StatusFailed, ObservedBefore: s, After: s, Error: s}}}
		data, err = Encode(r)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		rb, err := DecodeReceipt(ReceiptPath(Path(b.ID)), data)
		if err != nil {
			t.Fatalf("%q: DecodeReceipt(Encode(r)): %v\n%s", s, err, data)
		}
		if got := rb.Changes[0]; got.ObservedBefore != s || got.After != s || got.Error != s {
			t.Errorf("%q: read back %+v\n%s", s, got, data)
		}
	}
	// The first two are the ones yaml.v3 cannot read at all: this test
	// stands for something only while yaml.v3 writes them so.
	old, err := legacyEncode(Path("20261124T060000Z-x-1"), &Batch{Version: 1, ID: "20261124T060000Z-x-1", Detector: "d", Title: "\tb\nc",
		Changes: []Change{{ID: "c1", Kind: "custom", Object: "contacts", Record: "1", Op: OpSet, Field: "f", After: "x", Source: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(Path("20261124T060000Z-x-1"), old); err == nil || !strings.Contains(err.Error(), "tab character") {
		t.Errorf("yaml.v3's own file for a tab-led title decodes (%v): the regression this test guards against is gone", err)
	}
}

// A receipt built result by result has EncodeAt's bytes at every step.
func TestReceiptEncoderAppendsWhatEncodeWrites(t *testing.T) {
	t.Parallel()
	g := gen{rand.New(rand.NewPCG(2, 14))}
	for i := 0; i < 300; i++ {
		full := g.receipt(true)
		for n := g.r.IntN(30); n > 0; n-- {
			full.Changes = append(full.Changes, ChangeResult{ID: fmt.Sprintf("x%d", n), Status: StatusApplied, ObservedBefore: g.str(), After: g.str(), At: g.time(), Error: g.str()})
		}
		file := ReceiptPath(Path(full.Batch))
		start := g.r.IntN(len(full.Changes) + 1)
		head := *full
		head.Changes = slices.Clone(full.Changes[:start])
		re, err := NewReceiptEncoder(file, &head)
		if err != nil {
			t.Fatal(err)
		}
		for done := start; ; {
			partial := *full
			partial.Changes = full.Changes[:done]
			want, err := EncodeAt(file, &partial)
			if err != nil {
				t.Fatal(err)
			}
			got, err := re.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("after %d results:\n--- EncodeAt\n%s\n--- ReceiptEncoder\n%s", done, want, got)
			}
			if done == len(full.Changes) {
				break
			}
			next := min(len(full.Changes), done+1+g.r.IntN(7))
			if err := re.Append(full.Changes[done:next]...); err != nil {
				t.Fatal(err)
			}
			done = next
		}
	}
}

// The plain-scalar rules copied from yaml.v3 agree with it on every piece
// and pair of pieces, in each place a string stands.
func TestScalarRulesAgreeWithYAML(t *testing.T) {
	t.Parallel()
	for _, a := range pieces {
		for _, b := range append([]string{""}, pieces...) {
			s := a + b
			if !printable(s) || s == "" {
				continue
			}
			out, err := yaml.Marshal(map[string]string{"k": s})
			if err != nil {
				t.Fatal(err)
			}
			e := &encoder{}
			e.simpleStr(s, ctxBlock)
			if want := "k: " + string(e.buf) + "\n"; string(out) != want {
				t.Fatalf("%q: yaml.v3 writes %q, the fast path %q", s, out, want)
			}
		}
	}
	if !resolvesToStr("1e999") || resolvesToStr("1e3") || !resolvesToStr(strings.Repeat("9", 400)) || resolvesToStr("9223372036854775807") {
		t.Error("resolvesToStr differs from yaml.v3's resolver on numbers")
	}
}

// FuzzEncodeAgreesWithYAML holds the fast encoder to yaml.v3 for any
// strings in a batch's and a receipt's fields (see agree).
func FuzzEncodeAgreesWithYAML(f *testing.F) {
	f.Add("VP Sales", "1001", "a: b", "\tb\nc")
	f.Add("", "yes", "#x", "multi\nline\n")
	f.Add("\u2028", "it's", "- a", "\n\tb")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		bt := &Batch{Version: 1, ID: "20261124T060000Z-x-1", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: a, Title: b, Review: c,
			Changes: []Change{
				{ID: "c1", Kind: "custom", Object: "contacts", Record: a, Op: OpSet, Field: "f", Before: b, After: c, Source: d, Confidence: 0.5, Reason: d,
					Snapshot: map[string]string{"email": a, "k": b}},
				{ID: "c2", Kind: "dedupe", Object: "contacts", Record: c, Op: OpMerge, MergeFrom: d, Source: a, Confidence: 1,
					SurvivorSnapshot: map[string]string{"firstname": c, "x": d}},
			}}
		agree(t, Path(bt.ID), bt)
		r := &Receipt{Version: 1, Batch: bt.ID, Approval: Approval{Mode: ModeApproved, Approvers: []Approver{{Login: a}}, Policy: b, Refused: c},
			ExecutedBy: d, Modified: []Modification{{Commit: a, By: b}},
			Changes: []ChangeResult{{ID: "c1", Status: StatusStale, ObservedBefore: a, After: b, Error: c}, {ID: "c2", Status: StatusFailed, Error: d}}}
		agree(t, ReceiptPath(Path(bt.ID)), r)
	})
}

// benchFiles are a 100-change batch and its receipt, values as detectors
// write them.
func benchFiles() (*Batch, *Receipt) {
	created := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	b := &Batch{Version: 1, ID: "20261124T060000Z-enrichment-3f9c2a", Created: created, Detector: "enrichment", Title: "Fill 100 empty job titles from Clay"}
	r := &Receipt{Version: 1, Batch: b.ID, Approval: Approval{Mode: ModeAuto, Policy: "policies/default.yaml@" + strings.Repeat("ab", 20), Rules: []string{"enrichment-fill-empty"}, PullRequest: 42},
		ExecutedBy: "crmops/1.0", MergeCommit: strings.Repeat("cd", 20), BatchBlob: strings.Repeat("ef", 20)}
	for i := 0; i < 100; i++ {
		c := Change{ID: fmt.Sprintf("c%d", i+1), Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(100000 + i), Op: OpSet, Field: "jobtitle",
			After: "VP Sales", Source: "clay", Confidence: 0.97, Trigger: "import", Reason: "Clay row 17 matched by email; field empty in CRM",
			Snapshot: map[string]string{"email": fmt.Sprintf("p%d@example.com", i), "firstname": "Ann", "lastname": "O'Neil", "company": "Acme, Inc."}}
		b.Changes = append(b.Changes, c)
		r.Changes = append(r.Changes, ChangeResult{ID: c.ID, Status: StatusApplied, After: c.After, At: created.Add(time.Hour)})
	}
	return b, r
}

// BenchmarkEncode writes a 100-change batch and its receipt by the fast
// encoder and by yaml.v3 (as Encode did before it).
func BenchmarkEncode(b *testing.B) {
	bt, rc := benchFiles()
	for _, f := range []struct {
		name string
		v    any
		file string
	}{{"batch", bt, Path(bt.ID)}, {"receipt", rc, ReceiptPath(Path(bt.ID))}} {
		b.Run(f.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := EncodeAt(f.file, f.v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/yaml.v3", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := legacyEncode(f.file, f.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A result the fast encoder leaves to yaml.v3 (here text that is not UTF-8)
// makes the receipt encoded whole from then on, with the same bytes.
func TestReceiptEncoderFallsBackWhole(t *testing.T) {
	t.Parallel()
	r := &Receipt{Version: 1, Batch: "20261124T060000Z-x-1", Approval: Approval{Mode: ModeAuto}, ExecutedBy: "crmops/test",
		Changes: []ChangeResult{{ID: "c1", Status: StatusApplied, After: "a"}}}
	file := ReceiptPath(Path(r.Batch))
	re, err := NewReceiptEncoder(file, r)
	if err != nil {
		t.Fatal(err)
	}
	late := ChangeResult{ID: "c2", Status: StatusApplied, ObservedBefore: "caf\xe9", After: "b"}
	if err := re.Append(late, ChangeResult{ID: "c3", Status: StatusStale}); err != nil {
		t.Fatal(err)
	}
	r.Changes = append(r.Changes, late, ChangeResult{ID: "c3", Status: StatusStale})
	want, err := EncodeAt(file, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := re.Bytes(); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReceiptEncoder wrote (%v)\n%s\nwant\n%s", err, got, want)
	}
}
