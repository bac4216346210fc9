// Package strictyaml decodes YAML into Go structs refusing anything a careless
// writer could get wrong: unknown keys, missing required keys, wrong types,
// aliases, oversized or non-UTF-8 files. Every error names the file, the line
// and the key, because a reviewer fixing a batch by hand needs all three.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxSize is the largest file decoded. Batches are written by machines; a
// larger one is a bug or an attack, and refusing it early keeps memory bounded.
const MaxSize = 10 << 20

// Error is a decoding or validation error at a place in a file.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Pos is where a mapping stood in its file. A struct field of type Pos tagged
// `yaml:"-"` is filled in by Decode so later validation can point at lines.
type Pos struct {
	Line int
	// Path is the mapping's key path, e.g. "changes[2]".
	Path string
	keys map[string]int
}

// NewPos is the Pos Decode fills in for a mapping at line whose key path
// is path and whose keys stood at the lines in keys (kept, not copied):
// for a decoder that reads a file's mappings by hand, such as batch's fast
// path, and must leave the same Pos behind.
func NewPos(line int, path string, keys map[string]int) Pos {
	return Pos{Line: line, Path: path, keys: keys}
}

// KeyLine returns the line of key in the mapping, or the mapping's own line
// when the key is absent.
func (p Pos) KeyLine(key string) int {
	if l, ok := p.keys[key]; ok {
		return l
	}
	return p.Line
}

// Has reports whether key was present in the mapping.
func (p Pos) Has(key string) bool {
	_, ok := p.keys[key]
	return ok
}

// KeyPath joins the mapping's path and key, e.g. "changes[2].confidence".
func (p Pos) KeyPath(key string) string {
	if p.Path == "" {
		return key
	}
	return p.Path + "." + key
}

// Errorf builds an Error pointing at key within the mapping at p.
func (p Pos) Errorf(file, key, format string, args ...any) *Error {
	k := p.Path
	if key != "" {
		k = p.KeyPath(key)
	}
	return &Error{File: file, Line: p.KeyLine(key), Key: k, Msg: fmt.Sprintf(format, args...)}
}

// Decode checks data and decodes it into v, a pointer to a struct. Struct
// fields are matched by their yaml tag; a tag option "required" (in a
// separate `strict:"required"` tag) makes a key mandatory.
func Decode(file string, data []byte, v any) error {
	return DecodeAt(file, 1, data, v)
}

// DecodeAt is Decode for data that starts at line firstLine of file, such as
// one line of a JSON-lines file.
func DecodeAt(file string, firstLine int, data []byte, v any) error {
	offset := firstLine - 1
	err := decodeAt(file, offset, data, v)
	var e *Error
	if errors.As(err, &e) && e.Line > 0 {
		e.Line += offset
	}
	return err
}

func decodeAt(file string, offset int, data []byte, v any) error {
	if len(data) > MaxSize {
		return &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, larger than the %d-byte limit", len(data), MaxSize)}
	}
	if !utf8.Valid(data) {
		return &Error{File: file, Line: firstInvalidLine(data), Msg: "file is not valid UTF-8"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		e := syntaxError(file, err)
		if e.Line == 0 {
			e.Line = firstControlLine(data)
		}
		return e
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &Error{File: file, Msg: "file is empty"}
	}
	// A reader sees every document of a file; crmops would act on the
	// first alone. So a file holds exactly one.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			line = syntaxError(file, err).Line
		}
		return &Error{File: file, Line: line, Msg: "a second YAML document starts here; a crmops file holds exactly one (remove the '---' and what follows, or merge it into the first)"}
	}
	if a := findAlias(&doc); a != nil {
		return &Error{File: file, Line: a.Line, Msg: "YAML aliases and anchors are not allowed"}
	}
	d := decoder{file: file, offset: offset}
	return d.decode(doc.Content[0], reflect.ValueOf(v).Elem(), "")
}

// DecodeNode strictly decodes a node kept raw by an earlier Decode (a
// yaml.Node field) into v, reporting errors at their lines in file under
// the key path path.
func DecodeNode(file, path string, n *yaml.Node, v any) error {
	if a := findAlias(n); a != nil {
		return &Error{File: file, Line: a.Line, Msg: "YAML aliases and anchors are not allowed"}
	}
	d := decoder{file: file}
	return d.decode(n, reflect.ValueOf(v).Elem(), path)
}

func firstInvalidLine(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}

// firstControlLine finds the line of the first control character YAML
// forbids: yaml.v3 reports those without a line.
func firstControlLine(data []byte) int {
	line := 1
	for _, c := range data {
		switch {
		case c == '\n':
			line++
		case c < 0x20 && c != '\t' && c != '\r', c == 0x7f:
			return line
		}
	}
	return 0
}

// syntaxError turns yaml.v3's "yaml: line 3: ..." into our form.
func syntaxError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, tail
			}
		}
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}

type decoder struct {
	file   string
	offset int
}

var (
	nodeType      = reflect.TypeOf(yaml.Node{})
	timeType      = reflect.TypeOf(time.Time{})
	posType       = reflect.TypeOf(Pos{})
	unmarshalType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

func (d decoder) errorf(n *yaml.Node, path, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Key: path, Msg: fmt.Sprintf(format, args...)}
}

func (d decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return d.errorf(n, path, "%s", cleanTypeError(err))
		}
		return nil
	}
	switch {
	case v.Type() == nodeType:
		// Kept raw, with its lines, for a later DecodeNode by whoever owns
		// that part of the file (a detector's settings, say).
		v.Set(reflect.ValueOf(*n))
		return nil
	case v.Kind() == reflect.Pointer:
		if isNull(n) {
			return nil
		}
		v.Set(reflect.New(v.Type().Elem()))
		return d.decode(n, v.Elem(), path)
	case v.Type() == timeType:
		return d.scalar(n, v, path, "a timestamp like 2026-11-24T06:00:00Z")
	case v.Kind() == reflect.Struct:
		return d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		return d.sequence(n, v, path)
	case v.Kind() == reflect.Map:
		return d.dict(n, v, path)
	case v.Kind() == reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			return d.errorf(n, path, "%s", cleanTypeError(err))
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	default:
		return d.scalar(n, v, path, kindName(v.Kind()))
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	}
	return k.String()
}

func (d decoder) scalar(n *yaml.Node, v reflect.Value, path, want string) error {
	if n.Kind != yaml.ScalarNode {
		return d.errorf(n, path, "want %s, got a %s", want, nodeKind(n))
	}
	if isNull(n) {
		return nil
	}
	// yaml.v3 happily turns 0.97 into the string "0.97"; that is what we want
	// for strings (record ids like 1001), but a quoted "0.97" must not become
	// a number, so numbers and booleans are checked against their tags.
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if n.Tag != "!!float" && n.Tag != "!!int" {
			return d.errorf(n, path, "want %s, got %q", want, n.Value)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Tag != "!!int" {
			return d.errorf(n, path, "want %s, got %q", want, n.Value)
		}
	case reflect.Bool:
		if n.Tag != "!!bool" {
			return d.errorf(n, path, "want %s, got %q", want, n.Value)
		}
	case reflect.String:
		v.SetString(n.Value)
		return nil
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return d.errorf(n, path, "want %s, got %q", want, n.Value)
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return "node"
}

func cleanTypeError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

type fieldInfo struct {
	index    int
	required bool
}

func structFields(t reflect.Type) (map[string]fieldInfo, []string, int) {
	fields := map[string]fieldInfo{}
	var names []string
	posIndex := -1
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == posType {
			posIndex = i
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = fieldInfo{index: i, required: f.Tag.Get("strict") == "required"}
		names = append(names, name)
	}
	return fields, names, posIndex
}

func (d decoder) mapping(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, path, "want a mapping of keys, got a %s", nodeKind(n))
	}
	fields, names, posIndex := structFields(v.Type())
	pos := Pos{Line: n.Line + d.offset, Path: path, keys: map[string]int{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		kp := joinPath(path, key)
		f, ok := fields[key]
		if !ok {
			sort.Strings(names)
			return d.errorf(k, kp, "unknown key (known keys: %s)", strings.Join(names, ", "))
		}
		if _, dup := pos.keys[key]; dup {
			return d.errorf(k, kp, "duplicate key")
		}
		pos.keys[key] = k.Line + d.offset
		if err := d.decode(val, v.Field(f.index), kp); err != nil {
			return err
		}
	}
	for _, name := range names {
		if fields[name].required && !pos.Has(name) {
			return d.errorf(n, joinPath(path, name), "missing required key")
		}
	}
	if posIndex >= 0 {
		v.Field(posIndex).Set(reflect.ValueOf(pos))
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d decoder) sequence(n *yaml.Node, v reflect.Value, path string) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return d.errorf(n, path, "want a list, got a %s", nodeKind(n))
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		if err := d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d decoder) dict(n *yaml.Node, v reflect.Value, path string) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, path, "want a mapping, got a %s", nodeKind(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.errorf(n, path, "unsupported map key type %s", v.Type().Key())
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return d.errorf(k, joinPath(path, k.Value), "duplicate key")
		}
		seen[k.Value] = true
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(val, elem, joinPath(path, k.Value)); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
	return nil
}
