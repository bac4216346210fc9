package batch

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/strictyaml"
)

// canonical parses the block-style YAML that Encode writes (two
// spaces of indentation, one key per line, sequences of mappings, plain or
// simply quoted scalars) into the yaml.Node tree yaml.Unmarshal builds for
// it, without yaml.v3's tokenizer, which is most of the cost of a replay.
// Anything outside that narrow form (comments, flow mappings, escapes,
// multi-line scalars, tabs, blank lines, anchors, unusual numbers or times,
// ...) reports false, and the caller parses the file with yaml.v3. Tests
// compare the trees the two build, lines included: the fast path's Pos
// comes from them.
func canonical(data []byte) (*yaml.Node, bool) {
	if len(data) > strictyaml.MaxSize || !utf8.Valid(data) {
		return nil, false
	}
	// Control characters, and the characters YAML reads as line breaks or
	// refuses, are yaml.v3's to judge.
	for _, r := range string(data) {
		switch {
		case r < 0x20 && r != '\n', r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return nil, false
		}
	}
	// One string for the file, one array for its nodes and one for their
	// children: values are substrings, nodes and child lists slices.
	lines := bytes.Count(data, []byte{'\n'}) + 1
	p := canonParser{data: string(data), line: 1, virtual: -1, nodes: make([]yaml.Node, 0, 2*lines+1), kids: make([]*yaml.Node, 0, 2*lines+1)}
	// Comment lines at the top, such as the yaml-language-server line that
	// ties a file to its JSON Schema, are not part of the tree.
	for strings.HasPrefix(p.data[p.pos:], "#") {
		p.next()
	}
	root, ok := p.mapping(0)
	if !ok || p.pos < len(p.data) {
		return nil, false
	}
	return root, true
}

type canonParser struct {
	data string
	pos  int // start of the current line
	line int // its number, from 1
	// virtual, when not -1, is the indentation the current line's content
	// has after its "- " (the first key of a sequence item).
	virtual int
	// nodes and kids are the file's nodes and child lists; stack holds
	// the children of the mappings and sequences being parsed.
	nodes []yaml.Node
	kids  []*yaml.Node
	stack []*yaml.Node
}

// node returns a new node n.
func (p *canonParser) node(n yaml.Node) *yaml.Node {
	if len(p.nodes) == cap(p.nodes) {
		// A new array: nodes handed out keep pointing into the old one.
		p.nodes = make([]yaml.Node, 0, 64)
	}
	p.nodes = append(p.nodes, n)
	return &p.nodes[len(p.nodes)-1]
}

// children moves the stack's entries from start on into a child list.
func (p *canonParser) children(start int) []*yaml.Node {
	n := len(p.stack) - start
	if len(p.kids)+n > cap(p.kids) {
		p.kids = make([]*yaml.Node, 0, max(n, 256))
	}
	out := p.kids[len(p.kids) : len(p.kids)+n : len(p.kids)+n]
	p.kids = p.kids[:len(p.kids)+n]
	copy(out, p.stack[start:])
	clear(p.stack[start:])
	p.stack = p.stack[:start]
	return out
}

// peek returns the current line's content after its indentation, and the
// indentation; ok is false at the end.
func (p *canonParser) peek() (text string, indent int, ok bool) {
	if p.pos >= len(p.data) {
		return "", 0, false
	}
	end := strings.IndexByte(p.data[p.pos:], '\n')
	if end < 0 {
		end = len(p.data) - p.pos
	}
	line := p.data[p.pos : p.pos+end]
	if p.virtual >= 0 {
		return line[p.virtual:], p.virtual, true
	}
	indent = len(line) - len(strings.TrimLeft(line, " "))
	return line[indent:], indent, true
}

func (p *canonParser) next() {
	p.virtual = -1
	end := strings.IndexByte(p.data[p.pos:], '\n')
	if end < 0 {
		p.pos = len(p.data)
		return
	}
	p.pos += end + 1
	p.line++
}

// mapping parses the keys at indentation ind.
func (p *canonParser) mapping(ind int) (*yaml.Node, bool) {
	start, first := len(p.stack), 0
	for {
		text, in, ok := p.peek()
		if !ok || in < ind {
			break
		}
		if in != ind {
			return nil, false
		}
		key, rest, ok := strings.Cut(text, ":")
		if !ok || !plainKey(key) {
			return nil, false
		}
		line := p.line
		if len(p.stack) == start {
			first = line
		}
		p.next()
		var v *yaml.Node
		switch {
		case rest == "":
			v, ok = p.block(ind)
		case rest[0] == ' ':
			v, ok = p.flowOrScalar(rest[1:], line)
		default:
			ok = false
		}
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: keyTag(key), Value: key, Line: line}), v)
	}
	if len(p.stack) == start {
		return nil, false
	}
	return p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: p.children(start), Line: first}), true
}

// block parses what is under "key:": a sequence or a mapping indented by
// two more spaces. Nothing under it (a null) is left to yaml.v3.
func (p *canonParser) block(ind int) (*yaml.Node, bool) {
	text, in, ok := p.peek()
	if !ok || in != ind+2 {
		return nil, false
	}
	if strings.HasPrefix(text, "- ") {
		return p.sequence(in)
	}
	return p.mapping(in)
}

// sequence parses "- key: value" items at indentation ind, each a mapping
// whose keys are at ind+2.
func (p *canonParser) sequence(ind int) (*yaml.Node, bool) {
	start, first := len(p.stack), p.line
	for {
		text, in, ok := p.peek()
		if !ok || in < ind {
			break
		}
		if in != ind || !strings.HasPrefix(text, "- ") || strings.HasPrefix(text, "-  ") {
			return nil, false
		}
		p.virtual = ind + 2
		item, ok := p.mapping(ind + 2)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, item)
	}
	return p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: p.children(start), Line: first}), true
}

// flowOrScalar parses a value on its key's line: [], [a, b] or a scalar.
// line is the key's line, where the value stands too.
func (p *canonParser) flowOrScalar(v string, line int) (*yaml.Node, bool) {
	if v == "" || v[0] != '[' {
		n, ok := scalar(v, true)
		if !ok {
			return nil, false
		}
		n.Line = line
		return p.node(n), true
	}
	if v[len(v)-1] != ']' {
		return nil, false
	}
	seq := yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line}
	inner := v[1 : len(v)-1]
	if inner == "" {
		return p.node(seq), true
	}
	for _, item := range strings.Split(inner, ", ") {
		n, ok := scalar(item, false)
		if !ok {
			return nil, false
		}
		n.Line = line
		seq.Content = append(seq.Content, p.node(n))
	}
	return p.node(seq), true
}

// scalar parses a one-line scalar: double- or single-quoted without
// escapes, or plain from a safe alphabet, tagged as yaml.v3 resolves it.
func scalar(v string, block bool) (yaml.Node, bool) {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		q := v[0]
		inner := v[1 : len(v)-1]
		if v[len(v)-1] != q || strings.IndexByte(inner, q) >= 0 || (q == '"' && strings.IndexByte(inner, '\\') >= 0) {
			return yaml.Node{}, false
		}
		style := yaml.DoubleQuotedStyle
		if q == '\'' {
			style = yaml.SingleQuotedStyle
		}
		return yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: inner, Style: style}, true
	}
	if v == "" || v[len(v)-1] == ' ' {
		return yaml.Node{}, false
	}
	if v[0] >= '0' && v[0] <= '9' && yamlTimestamp(v) {
		if !isTimestamp(v) {
			return yaml.Node{}, false // a time of another form: yaml.v3 decides
		}
		return yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: v}, true
	}
	first, _ := utf8.DecodeRuneInString(v)
	for i, r := range v {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
		case i > 0 && strings.ContainsRune(" ._-/+()@'!?&=%$;~*", r):
		case i > 0 && block && r == ',':
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsMark(r)):
		default:
			return yaml.Node{}, false
		}
	}
	tag := "!!str"
	switch {
	case first >= '0' && first <= '9':
		switch {
		case isInt(v):
			tag = "!!int"
		case isDecimal(v):
			tag = "!!float"
		case yamlNumber(v):
			return yaml.Node{}, false // a number of another form: yaml.v3 decides
		}
	case v == "true" || v == "True" || v == "TRUE" || v == "false" || v == "False" || v == "FALSE":
		tag = "!!bool"
	case v == "null" || v == "Null" || v == "NULL":
		tag = "!!null"
	case first >= utf8.RuneSelf:
		return yaml.Node{}, false // a letter yaml.v3's resolver does not look up; keep it simple
	}
	return yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}, true
}

// keyTag is the tag yaml.v3 gives a plain key.
func keyTag(k string) string {
	switch k {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case "null", "Null", "NULL":
		return "!!null"
	}
	return "!!str"
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// The checks yaml.v3's resolver makes on a plain scalar that starts with a
// digit, with the same calls: a timestamp first, then numbers.
var (
	yamlTimeLayouts = []string{"2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2"}
	yamlStyleFloat  = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

func yamlTimestamp(s string) bool {
	if len(s) < 5 || !digits(s[:4]) || s[4] != '-' {
		return false
	}
	for _, layout := range yamlTimeLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

func yamlNumber(s string) bool {
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return true
	}
	if yamlStyleFloat.MatchString(plain) {
		return true
	}
	for _, prefix := range []struct {
		p    string
		base int
	}{{"0b", 2}, {"0o", 8}} {
		if rest, ok := strings.CutPrefix(plain, prefix.p); ok {
			if _, err := strconv.ParseUint(rest, prefix.base, 64); err == nil {
				return true
			}
			if _, err := strconv.ParseInt(rest, prefix.base, 64); err == nil {
				return true
			}
		}
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isInt: 0 or a decimal without a leading zero (which yaml.v3 would read
// as octal), short enough for an int64.
func isInt(s string) bool {
	return digits(s) && len(s) <= 18 && (s == "0" || s[0] != '0')
}

// isDecimal: an int as isInt, a point and up to 17 digits.
func isDecimal(s string) bool {
	whole, frac, ok := strings.Cut(s, ".")
	return ok && isInt(whole) && digits(frac) && len(frac) <= 17
}

// isTimestamp: 2026-11-24T06:00:00Z, with up to 9 digits of fraction.
func isTimestamp(s string) bool {
	if len(s) < 20 || s[len(s)-1] != 'Z' {
		return false
	}
	for i, want := range "dddd-dd-ddTdd:dd:dd" {
		c := s[i]
		if want == 'd' && (c < '0' || c > '9') || want != 'd' && c != byte(want) {
			return false
		}
	}
	rest := s[19 : len(s)-1]
	return rest == "" || rest[0] == '.' && len(rest) <= 10 && digits(rest[1:])
}
