package survivorship

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Path is where the settings live in crmops.yaml.
const Path = "detectors.dedupe.survivorship"

// settings are the keys of the survivorship section and of each object's
// section within it. The polymorphic keys stay raw and are read by hand.
type settings struct {
	// Survivor is the list of tie-breakers.
	Survivor yaml.Node `yaml:"survivor"`
	// Values is the rule of every field not in Fields.
	Values string `yaml:"values"`
	// Fields maps a field to its value rule.
	Fields yaml.Node `yaml:"fields"`
	// CreatedField, UpdatedField and SourceField name the fields holding
	// the record's created and updated times and its source: one name or
	// a list, the first non-empty one counts.
	CreatedField yaml.Node `yaml:"created_field"`
	UpdatedField yaml.Node `yaml:"updated_field"`
	SourceField  yaml.Node `yaml:"source_field"`

	Pos strictyaml.Pos `yaml:"-"`
}

var keys = []string{"created_field", "fields", "source_field", "survivor", "updated_field", "values"}

// New decodes detectors.dedupe.survivorship from crmops.yaml (file names it
// in errors); a nil or empty node gives the defaults. Every key other than
// the ones above that is an object name (contacts, companies, ...) holds
// that object's own rules, with the same keys; what it leaves out it takes
// from the top level. Errors name the file, the line and the key.
func New(file string, node *yaml.Node) (*Rules, error) {
	return NewFor(file, node, nil)
}

// Standard says which of one object's fields stand for the standard ones
// the rules name, for an object whose fields are not called like
// HubSpot's: a Salesforce Contact's phone is Phone, its created time
// CreatedDate.
type Standard struct {
	// Fields maps standard field names to the object's (phone: Phone): a
	// top-level fields: rule naming a standard field applies to the
	// object's field too, unless the top level names that field itself
	// (the object's own section, applied last, decides over both).
	Fields map[string]string
	// Created, Updated and Source name the object's created and updated
	// timestamps and its source field. They come first, before the names
	// the top level (or the defaults) give, so the object's own are read
	// and are never given a value; the object's own created_field,
	// updated_field or source_field still replace the lot.
	Created, Updated, Source []string
}

// NewFor is New for a CRM whose objects name the standard fields their own
// way: std maps an object (Contact) to its names. An object in std has
// rules of its own even without a section (see For).
func NewFor(file string, node *yaml.Node, std map[string]Standard) (*Rules, error) {
	r := defaults()
	if empty(node) {
		return r.standardize(std), nil
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind != yaml.MappingNode {
		return nil, &strictyaml.Error{File: file, Line: node.Line, Key: Path, Msg: "want a mapping of keys (survivor, values, fields, ...), got a " + kindName(node)}
	}
	top := &yaml.Node{Kind: yaml.MappingNode, Line: node.Line, Column: node.Column}
	type section struct {
		name string
		key  *yaml.Node
		node *yaml.Node
	}
	var objects []section
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		switch {
		case slices.Contains(keys, k.Value):
			top.Content = append(top.Content, k, v)
		case slices.ContainsFunc(keys, func(key string) bool { return strings.EqualFold(key, k.Value) }):
			// Survivor is survivor misspelt, not an object: object names
			// may be capitalised (Contact), but none is called like a key.
			return nil, &strictyaml.Error{File: file, Line: k.Line, Key: Path + "." + k.Value,
				Msg: fmt.Sprintf("unknown key (known keys: %s; or an object's name, for that object's own rules); did you mean %q?", strings.Join(keys, ", "), strings.ToLower(k.Value))}
		case batch.ValidObject(k.Value):
			for _, o := range objects {
				if o.name == k.Value {
					return nil, &strictyaml.Error{File: file, Line: k.Line, Key: Path + "." + k.Value, Msg: "duplicate key"}
				}
			}
			objects = append(objects, section{k.Value, k, v})
		default:
			return nil, &strictyaml.Error{File: file, Line: k.Line, Key: Path + "." + k.Value,
				Msg: fmt.Sprintf("unknown key (known keys: %s; or an object's name, for that object's own rules)", strings.Join(keys, ", "))}
		}
	}
	if err := r.apply(file, Path, top); err != nil {
		return nil, err
	}
	r.standardize(std)
	for _, o := range objects {
		path := Path + "." + o.name
		if empty(o.node) {
			continue
		}
		if o.node.Kind != yaml.MappingNode {
			return nil, &strictyaml.Error{File: file, Line: o.node.Line, Key: path,
				Msg: fmt.Sprintf("want the rules of object %s (a mapping of %s), got a %s; is %q a misspelt key?", o.name, strings.Join(keys, ", "), kindName(o.node), o.name)}
		}
		or := r.For(o.name).clone()
		if err := or.apply(file, path, o.node); err != nil {
			return nil, err
		}
		if r.objects == nil {
			r.objects = map[string]*Rules{}
		}
		r.objects[o.name] = or
	}
	return r, nil
}

// standardize gives every object of std its own rules: the top-level ones
// (r, with no object sections applied yet) in the object's names. It
// returns r.
func (r *Rules) standardize(std map[string]Standard) *Rules {
	for obj, st := range std {
		or := r.clone()
		for s, f := range st.Fields {
			if rule, ok := r.fields[s]; ok && f != s {
				if _, own := r.fields[f]; !own {
					or.fields[f] = rule
				}
			}
		}
		or.created = prepend(st.Created, or.created)
		or.updated = prepend(st.Updated, or.updated)
		or.source = prepend(st.Source, or.source)
		if r.objects == nil {
			r.objects = map[string]*Rules{}
		}
		r.objects[obj] = or
	}
	return r
}

// prepend is names then the rest of list, each name once.
func prepend(names, list []string) []string {
	if len(names) == 0 {
		return list
	}
	out := slices.Clone(names)
	for _, n := range list {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func empty(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func (r *Rules) clone() *Rules {
	c := *r
	c.survivor = slices.Clone(r.survivor)
	c.fields = maps.Clone(r.fields)
	c.created, c.updated, c.source = slices.Clone(r.created), slices.Clone(r.updated), slices.Clone(r.source)
	c.objects = nil
	return &c
}

// apply decodes one section (at path) over r: the keys it sets replace
// r's, and its fields are added to r's.
func (r *Rules) apply(file, path string, n *yaml.Node) error {
	var s settings
	if err := strictyaml.DecodeNode(file, path, n, &s); err != nil {
		return err
	}
	bad := func(n *yaml.Node, key, format string, args ...any) error {
		return &strictyaml.Error{File: file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if !empty(&s.Survivor) {
		tbs, err := survivorRule(file, path+".survivor", &s.Survivor)
		if err != nil {
			return err
		}
		r.survivor = tbs
	}
	if s.Pos.Has("values") && s.Values != "" {
		if !slices.Contains(ValueRules, s.Values) {
			return s.Pos.Errorf(file, "values", "unknown value rule %q (one of %s)", s.Values, strings.Join(ValueRules, ", "))
		}
		r.values = s.Values
	}
	for _, f := range []struct {
		key  string
		node *yaml.Node
		into *[]string
	}{{"created_field", &s.CreatedField, &r.created}, {"updated_field", &s.UpdatedField, &r.updated}, {"source_field", &s.SourceField, &r.source}} {
		if empty(f.node) {
			continue
		}
		names, err := names(file, path+"."+f.key, f.node, "field name", func(name string) string {
			if !batch.ValidField(name) {
				return fmt.Sprintf("%q is not a valid field name", name)
			}
			return ""
		})
		if err != nil {
			return err
		}
		*f.into = names
	}
	if !empty(&s.Fields) {
		if s.Fields.Kind != yaml.MappingNode {
			return bad(&s.Fields, path+".fields", "want a mapping of field: rule (one of %s), got a %s", strings.Join(ValueRules, ", "), kindName(&s.Fields))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(s.Fields.Content); i += 2 {
			k, v := s.Fields.Content[i], s.Fields.Content[i+1]
			key := path + ".fields." + k.Value
			switch {
			case seen[k.Value]:
				return bad(k, key, "duplicate key")
			case !batch.ValidField(k.Value):
				return bad(k, key, "%q is not a valid field name", k.Value)
			case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
				return bad(v, key, "want a value rule (one of %s)", strings.Join(ValueRules, ", "))
			case !slices.Contains(ValueRules, v.Value):
				return bad(v, key, "unknown value rule %q (one of %s)", v.Value, strings.Join(ValueRules, ", "))
			}
			seen[k.Value] = true
			r.fields[k.Value] = v.Value
		}
	}
	// Checked once the section's field names are known: a rule that would
	// set a field describing the record is refused, not ignored.
	for f, rule := range r.fields {
		if rule != KeepSurvivor && r.meta(f) {
			line := s.Fields
			for i := 0; i+1 < len(s.Fields.Content); i += 2 {
				if s.Fields.Content[i].Value == f {
					line = *s.Fields.Content[i]
				}
			}
			return bad(&line, path+".fields."+f, "%s describes the record (its id, timestamps, source or crmops' own bookkeeping) and is never set; only %s is allowed for it", f, KeepSurvivor)
		}
	}
	return nil
}

// survivorRule reads the list of tie-breakers (a single one may be given
// without the list).
func survivorRule(file, path string, n *yaml.Node) ([]tieBreaker, error) {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			return nil, &strictyaml.Error{File: file, Line: n.Line, Key: path,
				Msg: fmt.Sprintf("empty list; name tie-breakers (%s), or leave the key out for the default [%s]", tieBreakerNames(), strings.Join(DefaultSurvivor, ", "))}
		}
	}
	var out []tieBreaker
	seen := map[string]bool{}
	for i, it := range items {
		key := path
		if n.Kind == yaml.SequenceNode {
			key = fmt.Sprintf("%s[%d]", path, i)
		}
		bad := func(format string, args ...any) error {
			return &strictyaml.Error{File: file, Line: it.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
		}
		var t tieBreaker
		switch {
		case it.Kind == yaml.ScalarNode && it.Tag != "!!null":
			switch it.Value {
			case ByMostComplete, ByOldest, ByMostRecent:
				t.by = it.Value
			case BySource:
				return nil, bad("source needs the source to prefer: {source: NAME} (or a list of names)")
			default:
				return nil, bad("unknown tie-breaker %q (one of %s)", it.Value, tieBreakerNames())
			}
		case it.Kind == yaml.MappingNode && len(it.Content) == 2 && it.Content[0].Value == BySource:
			names, err := names(file, key+".source", it.Content[1], "source name", nil)
			if err != nil {
				return nil, err
			}
			t = tieBreaker{by: BySource, sources: names}
		case it.Kind == yaml.MappingNode:
			return nil, bad("a tie-breaker mapping is {source: NAME}")
		default:
			return nil, bad("want a tie-breaker (one of %s), got a %s", tieBreakerNames(), kindName(it))
		}
		if seen[t.by] {
			return nil, bad("%s is listed twice", t.by)
		}
		seen[t.by] = true
		out = append(out, t)
	}
	return out, nil
}

func tieBreakerNames() string {
	return strings.Join([]string{ByMostComplete, ByOldest, ByMostRecent, BySource + ": NAME"}, ", ")
}

// names reads one non-empty name or a non-empty list of them; check, when
// set, returns what is wrong with a name.
func names(file, path string, n *yaml.Node, what string, check func(string) string) ([]string, error) {
	bad := func(n *yaml.Node, key, format string, args ...any) error {
		return &strictyaml.Error{File: file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			return nil, bad(n, path, "empty list; name at least one %s", what)
		}
	}
	var out []string
	for i, it := range items {
		key := path
		if n.Kind == yaml.SequenceNode {
			key = fmt.Sprintf("%s[%d]", path, i)
		}
		v := strings.TrimSpace(it.Value)
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" || v == "" {
			return nil, bad(it, key, "want a %s or a list of them", what)
		}
		if slices.Contains(out, v) {
			return nil, bad(it, key, "%q is listed twice", v)
		}
		if check != nil {
			if msg := check(v); msg != "" {
				return nil, bad(it, key, "%s", msg)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// Objects lists the objects with rules of their own, sorted.
func (r *Rules) Objects() []string {
	out := make([]string, 0, len(r.objects))
	for o := range r.objects {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}
