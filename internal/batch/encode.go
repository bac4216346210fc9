package batch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/schema"
)

// Encoding a batch or receipt through yaml.v3 costs a reflection walk, and
// for every field of every change (Change.MarshalYAML) an emit and a parse
// of the value on its own: most of what a detector that proposes thousands
// of changes spends writing them, and what apply spent re-encoding its
// receipt after every chunk. EncodeAt writes the same bytes itself:
//
//   - the layout (keys, order, indentation, sequences) is fixed, as
//     yaml.v3 lays out these structs with SetIndent(2);
//   - a string of printable characters is written plain, single- or
//     double-quoted by the rules yaml.v3 applies to it (its resolver and
//     its emitter's analysis, copied below), which tests hold to yaml.v3
//     byte for byte;
//   - any other string (tabs, control characters, line breaks, characters
//     outside the Basic Multilingual Plane) is handed to yaml.v3 on its own
//     and its rendering spliced in; a block scalar is re-indented to where
//     it stands;
//   - a map key that is not such a string is rendered by yaml.v3 with its
//     value where it stands;
//   - what that cannot cover (invalid UTF-8, a year past 9999, U+2028 or
//     U+2029 in a flow sequence, a nil pointer, another type) goes to
//     yaml.v3 whole, and a file it writes that does not read back as the
//     value is an error (encodeYAML).
//
// Two deviations. yaml.v3 writes some multi-line strings as block scalars
// it cannot read back (a first line starting with a tab: "found a tab
// character where an indentation space is expected") or reads back as
// another value (a leading line break is lost), and through
// Change.MarshalYAML such a value was silently written as null; a map key
// << it writes plain, which readers take for a merge key. Those are
// written double-quoted instead, so that Decode reads what Encode wrote.
// And where yaml.v3's key order is not a total one (keys with digits it
// compares inconsistently) its output depends on the map's iteration
// order; this one is the same every time.

// EncodeAt is Encode for the file at the repository-relative path file:
// its first line names the schema relative to file.
func EncodeAt(file string, v any) ([]byte, error) {
	if out, ok, err := encodeFast(file, v); ok || err != nil {
		return out, err
	}
	return encodeYAML(file, v)
}

// encodeYAML is EncodeAt by yaml.v3 alone. A file it writes that yaml.v3
// cannot parse, or reads back as another value (one that writes another
// file), is an error rather than a file no reader could open or one that
// says something else.
func encodeYAML(file string, v any) ([]byte, error) {
	data, err := yamlFile(file, v)
	if err != nil {
		return nil, err
	}
	back := reflect.New(reflect.TypeOf(v))
	if err := yaml.Unmarshal(data, back.Interface()); err != nil {
		return nil, fmt.Errorf("encode: yaml.v3 writes a file it cannot read back: %w", err)
	}
	if again, err := yamlFile(file, back.Elem().Interface()); err != nil || !bytes.Equal(again, data) {
		return nil, errors.New("encode: yaml.v3 writes a file that reads back as another value (a string with a leading line break, or a tab after one)")
	}
	return data, nil
}

func yamlFile(file string, v any) ([]byte, error) {
	var buf bytes.Buffer
	switch v.(type) {
	case Batch, *Batch:
		buf.WriteString(SchemaComment(file, schema.Batch))
	case Receipt, *Receipt:
		buf.WriteString(SchemaComment(file, schema.Receipt))
	case Rejection, *Rejection:
		buf.WriteString(SchemaComment(file, schema.Rejection))
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// valueNode is the node Change.MarshalYAML writes for a value: yaml.v3's
// (Node.Encode emits the value and parses it back), unless that fails or
// reads back otherwise, as it does for a string whose first line starts
// with a tab (yaml.v3 refuses its block scalar) or with a line break
// (lost). Such a string is written double-quoted, which reads back.
func valueNode(v any) *yaml.Node {
	switch v := v.(type) {
	case string:
		return strNode(v)
	case map[string]string:
		var n yaml.Node
		if err := n.Encode(v); err == nil && sameMap(&n, v) {
			return &n
		}
		keys := sortedKeys(v)
		n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			n.Content = append(n.Content, strNode(k), strNode(v[k]))
		}
		return &n
	}
	var n yaml.Node
	_ = n.Encode(v)
	return &n
}

func strNode(s string) *yaml.Node {
	var n yaml.Node
	if err := n.Encode(s); err != nil || n.Kind != yaml.ScalarNode || (n.Tag == "!!str" && n.Value != s) {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: s}
	}
	return &n
}

// sameMap reports whether n, as Node.Encode made it, holds m's strings.
func sameMap(n *yaml.Node, m map[string]string) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2*len(m) {
		return false
	}
	seen := make(map[string]bool, len(m))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		want, ok := m[k.Value]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || k.Tag != "!!str" || v.Tag != "!!str" || !ok || seen[k.Value] || want != v.Value {
			return false
		}
		seen[k.Value] = true
	}
	return true
}

// encodeFast writes v by hand; ok is false when it cannot, and v is then
// yaml.v3's to write.
func encodeFast(file string, v any) (out []byte, ok bool, err error) {
	// One allocation of about the file's size (a change takes 300-600
	// bytes, a result 150) instead of a buffer growing through it.
	size := 512
	switch v := v.(type) {
	case *Batch:
		if v != nil {
			size += 512 * len(v.Changes)
		}
	case *Receipt:
		if v != nil {
			size += 192 * len(v.Changes)
		}
	}
	e := &encoder{buf: make([]byte, 0, size)}
	switch v := v.(type) {
	case Batch:
		e.buf = append(e.buf, SchemaComment(file, schema.Batch)...)
		e.batch(&v)
	case *Batch:
		if v == nil {
			return nil, false, nil
		}
		e.buf = append(e.buf, SchemaComment(file, schema.Batch)...)
		e.batch(v)
	case Receipt:
		e.buf = append(e.buf, SchemaComment(file, schema.Receipt)...)
		e.receipt(&v)
	case *Receipt:
		if v == nil {
			return nil, false, nil
		}
		e.buf = append(e.buf, SchemaComment(file, schema.Receipt)...)
		e.receipt(v)
	case Rejection:
		e.buf = append(e.buf, SchemaComment(file, schema.Rejection)...)
		e.rejection(&v)
	case *Rejection:
		if v == nil {
			return nil, false, nil
		}
		e.buf = append(e.buf, SchemaComment(file, schema.Rejection)...)
		e.rejection(v)
	default:
		return nil, false, nil
	}
	if e.err != nil {
		return nil, false, e.err
	}
	if e.giveUp {
		return nil, false, nil
	}
	return e.buf, true, nil
}

// ReceiptEncoder writes a receipt whose results grow, as apply's saved
// progress does after every chunk: the receipt's head is encoded once and
// each result once, appended. The changes are the file's last key and each
// item is written independently of the others, so the bytes are EncodeAt's
// for the receipt with every result appended so far.
type ReceiptEncoder struct {
	head  []byte // up to "changes:"
	items []byte
	// r is the receipt so far; whole says the fast encoder cannot write
	// it (a year past 9999, invalid UTF-8), and it is encoded whole every
	// time.
	r     Receipt
	whole bool
	file  string
}

// NewReceiptEncoder starts the file at file for r (its Changes included).
func NewReceiptEncoder(file string, r *Receipt) (*ReceiptEncoder, error) {
	re := &ReceiptEncoder{r: *r, file: file}
	re.r.Changes = nil
	e := &encoder{}
	e.buf = append(e.buf, SchemaComment(file, schema.Receipt)...)
	e.receiptHead(r)
	if e.err != nil {
		return nil, e.err
	}
	re.head, re.whole = e.buf, e.giveUp
	if err := re.Append(r.Changes...); err != nil {
		return nil, err
	}
	return re, nil
}

// Append adds results at the end of the receipt's changes.
func (re *ReceiptEncoder) Append(results ...ChangeResult) error {
	re.r.Changes = append(re.r.Changes, results...)
	if re.whole {
		return nil
	}
	e := &encoder{buf: re.items}
	for i := range results {
		e.changeResult(&results[i])
	}
	if e.err != nil {
		return e.err
	}
	re.items, re.whole = e.buf, e.giveUp
	return nil
}

// WriteTo writes the receipt so far.
func (re *ReceiptEncoder) WriteTo(w io.Writer) (int64, error) {
	if re.whole {
		data, err := EncodeAt(re.file, &re.r)
		if err != nil {
			return 0, err
		}
		n, err := w.Write(data)
		return int64(n), err
	}
	var n int64
	parts := [][]byte{re.head, []byte(" []\n"), nil}
	if len(re.r.Changes) > 0 {
		parts[1], parts[2] = []byte("\n"), re.items
	}
	for _, p := range parts {
		m, err := w.Write(p)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Bytes returns the receipt so far.
func (re *ReceiptEncoder) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := re.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encoder appends one file to buf. giveUp says the file is yaml.v3's to
// write whole; err that it cannot be written at all.
type encoder struct {
	buf    []byte
	giveUp bool
	why    string // what giveUp is for (tests report it)
	// ended says the last value ended its line itself: the emitter
	// starts no new line after a U+2028 or U+2029 it wrote last.
	ended bool
	err   error
}

func (e *encoder) stop(why string) {
	if !e.giveUp {
		e.giveUp, e.why = true, why
	}
}

// How a string value reaches yaml.v3: through reflection (a struct field)
// or, for a change's fields, through yaml.Node.Encode in Change.MarshalYAML,
// which emits the value, parses it back and emits the node.
const (
	viaStruct = iota
	viaNode
)

func (e *encoder) indent(n int) {
	for ; n > 0; n-- {
		e.buf = append(e.buf, ' ')
	}
}

// key writes "key:", after the indentation (or "- ") the
// caller wrote.
func (e *encoder) key(k string) {
	e.buf = append(e.buf, k...)
	e.buf = append(e.buf, ':')
}

// field writes `key: value` for a string at column col.
func (e *encoder) field(col int, k, s string, via int) {
	e.key(k)
	e.buf = append(e.buf, ' ')
	e.str(s, col, via)
	e.eol()
}

func (e *encoder) intField(k string, n int) {
	e.key(k)
	e.buf = append(e.buf, ' ')
	e.buf = strconv.AppendInt(e.buf, int64(n), 10)
	e.buf = append(e.buf, '\n')
}

func (e *encoder) timeField(k string, t time.Time) {
	e.key(k)
	e.buf = append(e.buf, ' ')
	if y := t.Year(); y < 0 || y > 9999 {
		e.stop("a year past 9999")
		return
	}
	e.buf = t.AppendFormat(e.buf, time.RFC3339Nano)
	e.buf = append(e.buf, '\n')
}

func (e *encoder) floatField(k string, f float64) {
	e.key(k)
	e.buf = append(e.buf, ' ')
	switch {
	case math.IsInf(f, 1):
		e.buf = append(e.buf, ".inf"...)
	case math.IsInf(f, -1):
		e.buf = append(e.buf, "-.inf"...)
	case math.IsNaN(f):
		e.buf = append(e.buf, ".nan"...)
	default:
		e.buf = strconv.AppendFloat(e.buf, f, 'g', -1, 64)
	}
	e.buf = append(e.buf, '\n')
}

// at writes the indentation of a key at column col: the first key of a
// sequence item comes after its "- ", the others after spaces.
func (e *encoder) at(col int, first bool) {
	if first {
		e.indent(col - 2)
		e.buf = append(e.buf, "- "...)
		return
	}
	e.indent(col)
}

func (e *encoder) batch(b *Batch) {
	e.intField("version", b.Version)
	e.field(0, "batch", b.ID, viaStruct)
	e.timeField("created", b.Created)
	e.field(0, "detector", b.Detector, viaStruct)
	e.field(0, "title", b.Title, viaStruct)
	if b.Review != "" {
		e.field(0, "review", b.Review, viaStruct)
	}
	if b.Agent != "" {
		e.field(0, "agent", b.Agent, viaStruct)
	}
	e.key("changes")
	if len(b.Changes) == 0 {
		e.buf = append(e.buf, " []\n"...)
		return
	}
	e.buf = append(e.buf, '\n')
	for i := range b.Changes {
		e.change(&b.Changes[i])
	}
}

// change writes one item of a batch's changes, as Change.MarshalYAML lays
// it out.
func (e *encoder) change(c *Change) {
	const col = 4
	e.at(col, true)
	e.field(col, "id", c.ID, viaNode)
	e.indent(col)
	e.field(col, "kind", c.Kind, viaNode)
	e.indent(col)
	e.field(col, "object", c.Object, viaNode)
	e.indent(col)
	e.field(col, "record", c.Record, viaNode)
	e.indent(col)
	e.field(col, "op", c.Op, viaNode)
	if c.TwoRecords() {
		e.indent(col)
		e.field(col, "merge_from", c.MergeFrom, viaNode)
	} else {
		e.indent(col)
		e.field(col, "field", c.Field, viaNode)
		e.indent(col)
		e.field(col, "before", c.Before, viaNode)
		e.indent(col)
		e.field(col, "after", c.After, viaNode)
	}
	e.indent(col)
	e.field(col, "source", c.Source, viaNode)
	e.indent(col)
	e.floatField("confidence", c.Confidence)
	if c.Trigger != "" {
		e.indent(col)
		e.field(col, "trigger", c.Trigger, viaNode)
	}
	if c.Reason != "" {
		e.indent(col)
		e.field(col, "reason", c.Reason, viaNode)
	}
	if len(c.Snapshot) > 0 {
		e.indent(col)
		e.stringMap(col, "snapshot", c.Snapshot)
	}
	if len(c.SurvivorSnapshot) > 0 {
		e.indent(col)
		e.stringMap(col, "survivor_snapshot", c.SurvivorSnapshot)
	}
	if c.Follows != "" {
		e.indent(col)
		e.field(col, "follows", c.Follows, viaNode)
	}
}

// stringMap writes a non-empty map under key at column col, in the order
// yaml.v3 sorts its keys.
func (e *encoder) stringMap(col int, k string, m map[string]string) {
	e.key(k)
	e.buf = append(e.buf, '\n')
	for _, mk := range sortedKeys(m) {
		e.indent(col + 2)
		// yaml.v3 writes a key longer than 128 bytes as a complex key, and
		// a plain << as a key that every reader takes for YAML's merge key
		// (and refuses): that one is quoted.
		if mk == "<<" {
			e.buf = append(e.buf, `"<<"`...)
		}
		if mk == "<<" || len(mk) <= 128 && e.simpleStr(mk, ctxKey) {
			e.buf = append(e.buf, ": "...)
			e.str(m[mk], col+2, viaNode)
			e.eol()
			continue
		}
		if !e.slowPair(col+2, mk, m[mk]) {
			e.stop("a map key yaml.v3 writes its own way")
			return
		}
		if e.ended {
			e.ended = false // the next key follows the raw line break
		}
	}
}

// slowPair writes one key and value of a change's map as yaml.v3 renders
// them (through Change.MarshalYAML's node) where they stand: a map's keys
// are at column 6, under "changes:", "  - snapshot:"; if that reads back.
func (e *encoder) slowPair(col int, k, v string) bool {
	if col != 6 || !utf8.ValidString(k) || !utf8.ValidString(v) {
		return false
	}
	one := map[string]string{k: v}
	scalar := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("changes"), {Kind: yaml.SequenceNode, Content: []*yaml.Node{
		{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("snapshot"), valueNode(one)}},
	}}}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil || enc.Close() != nil {
		return false
	}
	var back struct {
		Changes []struct {
			Snapshot map[string]string `yaml:"snapshot"`
		} `yaml:"changes"`
	}
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Changes) != 1 || !maps.Equal(back.Changes[0].Snapshot, one) {
		return false
	}
	out, ok := strings.CutPrefix(buf.String(), "changes:\n  - snapshot:\n      ")
	if !ok {
		return false
	}
	e.buf = append(e.buf, out...)
	e.ended = !strings.HasSuffix(out, "\n")
	return true
}

func (e *encoder) receipt(r *Receipt) {
	e.receiptHead(r)
	if len(r.Changes) == 0 {
		e.buf = append(e.buf, " []\n"...)
		return
	}
	e.buf = append(e.buf, '\n')
	for i := range r.Changes {
		e.changeResult(&r.Changes[i])
	}
}

// receiptHead writes a receipt up to its last key, "changes:".
func (e *encoder) receiptHead(r *Receipt) {
	e.intField("version", r.Version)
	e.field(0, "batch", r.Batch, viaStruct)
	e.key("approval")
	e.buf = append(e.buf, '\n')
	a := &r.Approval
	e.indent(2)
	e.field(2, "mode", a.Mode, viaStruct)
	e.indent(2)
	e.key("approvers")
	if len(a.Approvers) == 0 {
		e.buf = append(e.buf, " []\n"...)
	} else {
		e.buf = append(e.buf, '\n')
		for _, ap := range a.Approvers {
			e.at(6, true)
			e.field(6, "login", ap.Login, viaStruct)
			e.indent(6)
			e.timeField("at", ap.At)
		}
	}
	if a.Policy != "" {
		e.indent(2)
		e.field(2, "policy", a.Policy, viaStruct)
	}
	e.indent(2)
	e.flowList("rules", a.Rules)
	if a.PullRequest != 0 {
		e.indent(2)
		e.intField("pull_request", a.PullRequest)
	}
	if a.Proposer != "" {
		e.indent(2)
		e.field(2, "proposer", a.Proposer, viaStruct)
	}
	if a.Refused != "" {
		e.indent(2)
		e.field(2, "refused", a.Refused, viaStruct)
	}
	e.field(0, "executed_by", r.ExecutedBy, viaStruct)
	if r.MergeCommit != "" {
		e.field(0, "merge_commit", r.MergeCommit, viaStruct)
	}
	if r.BatchBlob != "" {
		e.field(0, "batch_blob", r.BatchBlob, viaStruct)
	}
	if len(r.Modified) > 0 {
		e.key("modified")
		e.buf = append(e.buf, '\n')
		for _, m := range r.Modified {
			e.at(4, true)
			e.field(4, "commit", m.Commit, viaStruct)
			e.indent(4)
			e.field(4, "by", m.By, viaStruct)
			if len(m.Changes) > 0 {
				e.indent(4)
				e.flowList("changes", m.Changes)
			}
		}
	}
	e.key("changes")
}

func (e *encoder) changeResult(c *ChangeResult) {
	const col = 4
	e.at(col, true)
	e.field(col, "id", c.ID, viaStruct)
	e.indent(col)
	e.field(col, "status", c.Status, viaStruct)
	e.indent(col)
	e.field(col, "observed_before", c.ObservedBefore, viaStruct)
	e.indent(col)
	e.field(col, "after", c.After, viaStruct)
	e.indent(col)
	e.timeField("at", c.At)
	e.indent(col)
	e.field(col, "error", c.Error, viaStruct)
}

func (e *encoder) rejection(r *Rejection) {
	e.intField("version", r.Version)
	e.field(0, "batch", r.Batch, viaStruct)
	e.field(0, "rejected_by", r.RejectedBy, viaStruct)
	e.timeField("at", r.At)
	e.field(0, "reason", r.Reason, viaStruct)
	if r.PullRequest != 0 {
		e.intField("pull_request", r.PullRequest)
	}
	e.key("changes")
	if len(r.Changes) == 0 {
		e.buf = append(e.buf, " []\n"...)
		return
	}
	e.buf = append(e.buf, '\n')
	const col = 4
	for _, c := range r.Changes {
		e.at(col, true)
		e.field(col, "id", c.ID, viaStruct)
		e.indent(col)
		e.field(col, "object", c.Object, viaStruct)
		e.indent(col)
		e.field(col, "record", c.Record, viaStruct)
		e.indent(col)
		e.field(col, "op", c.Op, viaStruct)
		if c.Field != "" {
			e.indent(col)
			e.field(col, "field", c.Field, viaStruct)
		}
		if c.After != "" {
			e.indent(col)
			e.field(col, "after", c.After, viaStruct)
		}
		if c.MergeFrom != "" {
			e.indent(col)
			e.field(col, "merge_from", c.MergeFrom, viaStruct)
		}
	}
}

// flowList writes `key: [a, b]`, a sequence tagged flow.
func (e *encoder) flowList(k string, items []string) {
	start := len(e.buf)
	e.key(k)
	e.buf = append(e.buf, " ["...)
	for i, s := range items {
		if i > 0 {
			e.buf = append(e.buf, ", "...)
		}
		if !e.simpleStr(s, ctxFlow) {
			e.buf = e.buf[:start]
			e.slowFlowList(k, items)
			return
		}
	}
	e.buf = append(e.buf, "]\n"...)
}

// Where a string stands decides which plain scalars yaml.v3 allows.
const (
	ctxBlock = iota // a value in a block mapping
	ctxFlow         // an item of a flow sequence
	ctxKey          // a key of a block mapping
)

// str writes a string value whose key is at column col.
func (e *encoder) str(s string, col, via int) {
	if via == viaNode && s == "<<" {
		// Node.Encode parses the plain << back as YAML's merge key, and
		// the node is written with its tag.
		e.buf = append(e.buf, "!!merge <<"...)
		return
	}
	if !e.simpleStr(s, ctxBlock) {
		e.slowStr(s, col, via)
	}
}

// simpleStr writes s if it is made of characters the emitter writes as
// they are (printable, no tab, no line break) and reports whether it did.
// The style is the one yaml.v3 picks: double-quoted when a plain scalar
// would read as another type, plain when the emitter allows it where the
// string stands, single-quoted otherwise.
func (e *encoder) simpleStr(s string, ctx int) bool {
	if s == "" {
		e.buf = append(e.buf, `""`...)
		return true
	}
	if !printable(s) {
		return false
	}
	switch {
	case !plainString(s):
		e.buf = append(e.buf, '"')
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' {
				e.buf = append(e.buf, '\\')
			}
			e.buf = append(e.buf, s[i])
		}
		e.buf = append(e.buf, '"')
	case plainAllowed(s, ctx == ctxFlow):
		e.buf = append(e.buf, s...)
	default:
		e.buf = append(e.buf, '\'')
		for i := 0; i < len(s); i++ {
			if s[i] == '\'' {
				e.buf = append(e.buf, '\'')
			}
			e.buf = append(e.buf, s[i])
		}
		e.buf = append(e.buf, '\'')
	}
	return true
}

// printable reports a string of characters yaml.v3's emitter writes
// unescaped in every style: ASCII from space to '~' and the Basic
// Multilingual Plane from U+00A0 on, less U+2028 and U+2029 (line breaks),
// U+FEFF (a byte order mark) and the surrogates and non-characters.
func printable(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c > 0x7e {
				return false
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r < 0xa0 || r > 0xfffd || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0xd800 && r < 0xe000) {
			return false
		}
		i += w
	}
	return true
}

// plainString is yaml.v3's stringv test: a plain s would read back as a
// string (resolve), and is neither a YAML 1.1 boolean nor a base 60 float.
func plainString(s string) bool {
	return resolvesToStr(s) && !isOldBool(s) && !isBase60Float(s)
}

// plainAllowed is the part of yaml.v3's yaml_emitter_analyze_scalar that
// applies to a printable single-line s: whether the emitter keeps a plain
// scalar in a block (or, with flow, in a flow) context.
func plainAllowed(s string, flow bool) bool {
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	if len(s) >= 3 && (s[:3] == "---" || s[:3] == "...") {
		return false
	}
	blank := func(i int) bool { return i >= len(s) || s[i] == ' ' }
	switch s[0] {
	case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '?', ':':
		if flow || blank(1) {
			return false
		}
	case '-':
		if blank(1) {
			return false
		}
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case ',', '?', '[', ']', '{', '}':
			if flow {
				return false
			}
		case ':':
			if flow || blank(i+1) {
				return false
			}
		case '#':
			if s[i-1] == ' ' {
				return false
			}
		}
	}
	return true
}

// slowStr writes a string simpleStr does not: yaml.v3 renders it alone
// (through the path it takes in the file, via) as the value of a top-level
// key, which is spliced in with a block scalar's lines moved to col. A
// rendering yaml.v3 cannot read back as s is replaced by a double-quoted
// one.
func (e *encoder) slowStr(s string, col, via int) {
	if !utf8.ValidString(s) {
		e.stop("invalid UTF-8") // yaml.v3 writes it as !!binary, in a form of its own
		return
	}
	r, ok := renderValue(s, via)
	if ok && strings.HasPrefix(r, "|") {
		// A block scalar: yaml.v3 writes some it cannot read back.
		if c := s[0]; c == '\t' || c == '\n' || c == '\r' || strings.HasPrefix(s, "\u0085") || strings.HasPrefix(s, "\u2028") || strings.HasPrefix(s, "\u2029") {
			ok = false
		}
	}
	if !ok {
		r, ok = renderQuoted(s)
		if !ok {
			e.err = fmt.Errorf("encode: yaml.v3 cannot write %q so that it reads back", s)
			return
		}
	}
	// After a line break (a block scalar's, or a U+2028 or U+2029 a quoted
	// scalar holds) the emitter indents what follows to two columns right
	// of the key: the two spaces it wrote under the top-level key it was
	// rendered at get the key's column added. What it does not indent (an
	// empty line, a closing quote) it does not indent here either.
	if strings.HasSuffix(r, "\n") {
		r = r[:len(r)-1]
	} else {
		e.ended = true
	}
	for {
		i, w := nextBreak(r)
		if i < 0 {
			e.buf = append(e.buf, r...)
			return
		}
		e.buf = append(e.buf, r[:i+w]...)
		r = r[i+w:]
		if strings.HasPrefix(r, "  ") {
			e.indent(col)
		}
	}
}

// nextBreak finds the first line break the emitter writes as it is: '\n',
// U+2028 or U+2029 (other breaks are never printed raw).
func nextBreak(s string) (i, width int) {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\n':
			return i, 1
		case s[i] == 0xe2 && strings.HasPrefix(s[i:], "\u2028"), s[i] == 0xe2 && strings.HasPrefix(s[i:], "\u2029"):
			return i, 3
		}
	}
	return -1, 0
}

// renderValue is yaml.v3's rendering of s as the value of the top-level
// key "k", as it would be written in a file, if it reads back as s.
func renderValue(s string, via int) (string, bool) {
	var v any = map[string]string{"k": s}
	if via == viaNode {
		var n yaml.Node
		if err := n.Encode(s); err != nil {
			return "", false // yaml.v3 cannot parse what it wrote for s
		}
		v = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "k"}, &n}}
	}
	return renderChecked(v, s)
}

// renderQuoted is s double-quoted by yaml.v3, escapes and all.
func renderQuoted(s string) (string, bool) {
	return renderChecked(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "k"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: s},
	}}, s)
}

// renderChecked encodes v, a one-key mapping {k: s}, and returns what
// follows "k: ", if the file reads back as s.
func renderChecked(v any, s string) (string, bool) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", false
	}
	if err := enc.Close(); err != nil {
		return "", false
	}
	var back map[string]string
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != 1 || back["k"] != s {
		return "", false
	}
	out, ok := strings.CutPrefix(buf.String(), "k: ")
	if !ok {
		return "", false
	}
	// The emitter ends no line after a U+2028 or U+2029 it wrote last:
	// what follows is indented right after it (see eol).
	if !strings.HasSuffix(out, "\n") && !endsInRawBreak(out) {
		return "", false
	}
	return out, true
}

// endsInRawBreak reports a rendering that ends in a line break the emitter
// writes as it is, after which it starts no new line.
func endsInRawBreak(s string) bool {
	return strings.HasSuffix(s, "\u2028") || strings.HasSuffix(s, "\u2029")
}

// eol ends the line of a value, unless the value ended it.
func (e *encoder) eol() {
	if e.ended {
		e.ended = false
		return
	}
	e.buf = append(e.buf, '\n')
}

// slowFlowList writes a flow sequence yaml.v3 renders, if it is one line
// and reads back.
func (e *encoder) slowFlowList(k string, items []string) {
	for _, s := range items {
		// Invalid UTF-8 is written as !!binary, and a U+2028 or U+2029
		// is followed by an indentation that depends on where the list
		// stands: yaml.v3 writes the file.
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\u2028\u2029") {
			e.stop("a flow sequence item with U+2028, U+2029 or invalid UTF-8")
			return
		}
	}
	v := struct {
		L []string `yaml:"l,flow"`
	}{items}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil || enc.Close() != nil {
		e.err = fmt.Errorf("encode %s: yaml.v3 cannot write %q", k, items)
		return
	}
	var back struct {
		L []string `yaml:"l"`
	}
	out, ok := strings.CutPrefix(buf.String(), "l: ")
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil || !slices.Equal(back.L, items) || !ok || strings.Count(out, "\n") != 1 {
		e.err = fmt.Errorf("encode %s: yaml.v3 cannot write %q so that it reads back", k, items)
		return
	}
	e.key(k)
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, out...)
}

// sortedKeys returns m's keys in the order yaml.v3 writes them. Its order
// (keyList.Less) is a total one on keys without digits, and on most with
// them; on a set of keys it does not order consistently yaml.v3's own
// output depends on the map's iteration order, and this one is the stable
// sort of the keys in byte order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.SortStableFunc(keys, func(a, b string) int {
		switch {
		case keyLess(a, b):
			return -1
		case keyLess(b, a):
			return 1
		}
		return 0
	})
	return keys
}

// keyLess is yaml.v3's keyList.Less (sorter.go) for two string keys.
// Copyright (c) 2011-2019 Canonical Ltd, Apache License 2.0.
func keyLess(a, b string) bool {
	ar, br := []rune(a), []rune(b)
	digits := false
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			digits = unicode.IsDigit(ar[i])
			continue
		}
		al := unicode.IsLetter(ar[i])
		bl := unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			if digits {
				return al
			}
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

// The rest is yaml.v3's resolver (resolve.go) and stringv's checks
// (encode.go), for untagged plain scalars: the tag a plain s would read
// back with, and the YAML 1.1 forms it quotes anyway.
// Copyright (c) 2011-2019 Canonical Ltd, Apache License 2.0.

var resolveTable = func() (t [256]byte) {
	t['+'], t['-'] = 'S', 'S'
	for c := '0'; c <= '9'; c++ {
		t[c] = 'D'
	}
	for _, c := range "yYnNtTfFoO~" {
		t[c] = 'M'
	}
	t['.'] = '.'
	return t
}()

// resolveMapped are the plain scalars resolve finds in its map: booleans,
// nulls, infinities, NaNs and the merge key, none of them strings.
var resolveMapped = map[string]bool{
	"true": true, "True": true, "TRUE": true, "false": true, "False": true, "FALSE": true,
	"": true, "~": true, "null": true, "Null": true, "NULL": true,
	".nan": true, ".NaN": true, ".NAN": true, ".inf": true, ".Inf": true, ".INF": true,
	"+.inf": true, "+.Inf": true, "+.INF": true, "-.inf": true, "-.Inf": true, "-.INF": true,
	"<<": true,
}

var encodeStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolvesToStr reports whether yaml.v3 resolves the plain scalar s as a
// string.
func resolvesToStr(s string) bool {
	hint := byte('N')
	if s != "" {
		hint = resolveTable[s[0]]
	}
	if hint == 0 {
		return true
	}
	if resolveMapped[s] {
		return false
	}
	switch hint {
	case 'M':
		return true
	case '.':
		_, err := strconv.ParseFloat(s, 64)
		return err != nil
	case 'D', 'S':
		if yamlTimestamp(s) {
			return false
		}
		plain := strings.ReplaceAll(s, "_", "")
		if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return false
		}
		if encodeStyleFloat.MatchString(plain) {
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return false
			}
		}
		if rest, ok := strings.CutPrefix(plain, "0b"); ok {
			if _, err := strconv.ParseInt(rest, 2, 64); err == nil {
				return false
			}
			if _, err := strconv.ParseUint(rest, 2, 64); err == nil {
				return false
			}
		} else if rest, ok := strings.CutPrefix(plain, "-0b"); ok {
			if _, err := strconv.ParseInt("-"+rest, 2, 64); err == nil {
				return false
			}
		}
		if rest, ok := strings.CutPrefix(plain, "0o"); ok {
			if _, err := strconv.ParseInt(rest, 8, 64); err == nil {
				return false
			}
			if _, err := strconv.ParseUint(rest, 8, 64); err == nil {
				return false
			}
		} else if rest, ok := strings.CutPrefix(plain, "-0o"); ok {
			if _, err := strconv.ParseInt("-"+rest, 8, 64); err == nil {
				return false
			}
		}
	}
	return true
}

func isOldBool(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return false
}

var base60float = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

func isBase60Float(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if !(c == '+' || c == '-' || c >= '0' && c <= '9') || strings.IndexByte(s, ':') < 0 {
		return false
	}
	return base60float.MatchString(s)
}
