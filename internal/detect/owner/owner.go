// Package owner proposes record owner changes from rules: records owned by
// someone who left (an inactive owner) are handed to an active owner, and
// records in a territory go to the territory's owner.
//
// For each record, in this order:
//
//  1. The first territory rule whose when matches the record decides: if
//     its owner is not the record's owner, the record is reassigned to it,
//     whoever owned it before (also when it had no owner). A rule naming an
//     unknown or inactive owner assigns nothing; its records are reported.
//  2. Otherwise a record owned by an inactive owner goes to the next owner
//     in reassign_inactive_to, round robin over those records in id order
//     (numerically when ids are numbers), so the same CRM gives the same
//     assignments on every run.
//  3. A record owned by someone not in the owners list is reported, not
//     touched; an unowned record no territory matches is left unowned.
//
// Every change has kind owner, trigger rule, confidence 1 (a rule, applied
// exactly) and source owner-rules; owner changes always need a person's
// approval, whatever the policy says.
//
// Memory: the CRM is streamed once reading the owner field and the fields
// the territories test; only records to reassign are kept.
package owner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/table"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Name is the detector's name in crmops.yaml and in batch files.
const Name = "owner"

// Defaults and fixed values.
const (
	DefaultObject = "contacts"
	DefaultField  = "owner"
	// Source is recorded on every change this detector proposes.
	Source = "owner-rules"
)

// Settings are the detector's keys under detectors.owner in crmops.yaml:
//
//	owner:
//	  object: contacts                  # default contacts
//	  field: owner                      # default owner (HubSpot: hubspot_owner_id; Salesforce: OwnerId)
//	  owners: {input: data/owners.csv}  # CSV id,name,email,active; or a list:
//	  # owners:
//	  #   - {id: "12", name: Dana Fox, email: dana@acme.com, active: true}
//	  #   - {id: "14", name: Sam Lee, active: false}
//	  reassign_inactive_to: ["12", "15"]   # active owners, round robin
//	  territories:                          # first match wins
//	    - when: {country: [DE, AT, CH]}
//	      owner: "12"
//	    - when: {country: US, state: CA}
//	      owner: "15"
type Settings struct {
	// Object is the CRM object whose owners are managed. Default contacts.
	Object string `yaml:"object"`
	// Field is the CRM field holding the owner's id. Default owner.
	Field string `yaml:"field"`
	// Owners lists who may own records: either {input: FILE}, a CSV file
	// with columns id and active (and optionally name and email), or an
	// inline list of {id, name, email, active}. active reads true/false,
	// yes/no, 1/0 or active/inactive.
	Owners yaml.Node `yaml:"owners" strict:"required"`
	// ReassignInactiveTo lists the active owners that take over records of
	// inactive owners no territory claims, round robin in this order.
	ReassignInactiveTo []string `yaml:"reassign_inactive_to"`
	// Territories are rules giving records to owners; the first whose when
	// matches a record decides.
	Territories []Territory `yaml:"territories"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Territory is one territory rule.
type Territory struct {
	// When maps CRM fields to the value, or list of values, the record's
	// field must hold (compared trimmed and ignoring case); every field
	// must match. An empty when matches every record.
	When map[string]Values `yaml:"when" strict:"required"`
	// Owner is the id of the owner the territory's records belong to.
	Owner string `yaml:"owner" strict:"required"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Values is a value or a list of values in YAML.
type Values []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (v *Values) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*v = Values{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(Values, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return errors.New("want a value or a list of values")
			}
			out = append(out, c.Value)
		}
		*v = out
		return nil
	}
	return errors.New("want a value or a list of values")
}

// Owner is one entry of an inline owners list.
type Owner struct {
	ID     string `yaml:"id" strict:"required"`
	Name   string `yaml:"name"`
	Email  string `yaml:"email"`
	Active bool   `yaml:"active" strict:"required"`

	Pos strictyaml.Pos `yaml:"-"`
}

// ownersFile is the {input: FILE} form of owners.
type ownersFile struct {
	Input string `yaml:"input" strict:"required"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Detector proposes owner changes.
type Detector struct {
	file string // crmops.yaml, for problems about the settings
	s    Settings
	// Exactly one of these is set.
	input  string
	inline []Owner
	// inputPos is where input was configured.
	inputPos strictyaml.Pos
}

// New decodes and checks the detector's settings from file (crmops.yaml).
func New(file string, settings *yaml.Node) (detect.Detector, error) {
	var s Settings
	if err := detect.DecodeSettings(file, Name, settings, &s); err != nil {
		return nil, err
	}
	bad := func(key, format string, args ...any) error { return s.Pos.Errorf(file, key, format, args...) }
	if s.Object == "" {
		s.Object = DefaultObject
	}
	if !batch.ValidObject(s.Object) {
		return nil, bad("object", "%q is not an object name (letters, digits, _)", s.Object)
	}
	if s.Field == "" {
		s.Field = DefaultField
	}
	if !batch.ValidField(s.Field) || strings.EqualFold(s.Field, "id") {
		return nil, bad("field", "%q is not a CRM field name", s.Field)
	}
	d := &Detector{file: file}
	ownersPath := s.Pos.KeyPath("owners")
	switch s.Owners.Kind {
	case yaml.MappingNode:
		var f ownersFile
		if err := strictyaml.DecodeNode(file, ownersPath, &s.Owners, &f); err != nil {
			return nil, err
		}
		if strings.TrimSpace(f.Input) == "" {
			return nil, f.Pos.Errorf(file, "input", "must name a CSV file")
		}
		d.input, d.inputPos = f.Input, f.Pos
	case yaml.SequenceNode:
		if err := strictyaml.DecodeNode(file, ownersPath, &s.Owners, &d.inline); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for i := range d.inline {
			o := &d.inline[i]
			o.ID = strings.TrimSpace(o.ID)
			if o.ID == "" {
				return nil, o.Pos.Errorf(file, "id", "must not be empty")
			}
			if seen[o.ID] {
				return nil, o.Pos.Errorf(file, "id", "owner %s is listed twice", o.ID)
			}
			seen[o.ID] = true
		}
		if len(d.inline) == 0 {
			return nil, bad("owners", "list at least one owner")
		}
	default:
		return nil, bad("owners", "want {input: FILE} or a list of owners")
	}
	seen := map[string]bool{}
	for i, id := range s.ReassignInactiveTo {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			return nil, &strictyaml.Error{File: file, Line: s.Pos.KeyLine("reassign_inactive_to"), Key: fmt.Sprintf("%s[%d]", s.Pos.KeyPath("reassign_inactive_to"), i),
				Msg: fmt.Sprintf("owner %q is empty or listed twice", id)}
		}
		seen[id] = true
		s.ReassignInactiveTo[i] = id
	}
	for i := range s.Territories {
		t := &s.Territories[i]
		t.Owner = strings.TrimSpace(t.Owner)
		if t.Owner == "" {
			return nil, t.Pos.Errorf(file, "owner", "must not be empty")
		}
		for field, vals := range t.When {
			if !batch.ValidField(field) {
				return nil, t.Pos.Errorf(file, "when", "%q is not a CRM field name", field)
			}
			if len(vals) == 0 {
				return nil, t.Pos.Errorf(file, "when", "%s lists no values", field)
			}
		}
	}
	d.s = s
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// person is a known owner.
type person struct {
	id, label string // label: "12 (Dana Fox)", or the id without a name
	active    bool
}

func newPerson(id, name string, active bool) person {
	p := person{id: id, label: id, active: active}
	if name != "" {
		p.label = id + " (" + name + ")"
	}
	return p
}

// rule is a territory rule ready to match.
type rule struct {
	n      int // 1-based, for reasons
	line   int
	fields []string   // sorted
	shown  [][]string // per field, as written (trimmed)
	desc   string     // what it tests, for reasons: "country is DE or AT"
	to     person
	broken string // why the rule assigns nothing, "" when it works
	// records the broken rule matched
	count int
	first []string
}

func (r *rule) matches(rec crm.Record) bool {
	for i, f := range r.fields {
		v := strings.TrimSpace(rec.Fields[f])
		ok := false
		for _, want := range r.shown[i] {
			if strings.EqualFold(v, want) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// describe says what the rule tests: "country is DE or AT".
func (r *rule) describe() string {
	if len(r.fields) == 0 {
		return "every record"
	}
	parts := make([]string, len(r.fields))
	for i, f := range r.fields {
		parts[i] = f + " is " + strings.Join(r.shown[i], " or ")
	}
	return strings.Join(parts, " and ")
}

// move is a reassignment found, made into a change once all are known.
type move struct {
	id, before string
	to         person
	rule       *rule // nil: the round robin
	seq        int   // the round robin's count, 1-based
}

// progressEvery is how many records pass between progress reports (and
// context checks).
const progressEvery = 10_000

// maxIDsShown bounds the record ids a problem lists.
const maxIDsShown = 3

// Detect reads the owners, streams the CRM and proposes the reassignments.
func (d *Detector) Detect(ctx context.Context, env detect.Env) (*detect.Result, error) {
	res := &detect.Result{}
	owners, source, err := d.loadOwners(env, res)
	if err != nil {
		return nil, err
	}
	rules := d.rules(owners, source)
	rotation := d.rotation(owners, source, res)

	fields := []string{d.s.Field}
	seen := map[string]bool{d.s.Field: true}
	for _, r := range rules {
		for _, f := range r.fields {
			if !seen[f] {
				seen[f] = true
				fields = append(fields, f)
			}
		}
	}
	type stranded struct {
		count int
		first []string
	}
	unknown := map[string]*stranded{} // owner id -> records they own
	var moves, waiting []move
	stage := Name + ": " + d.s.Object
	n := 0
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The listing runs without the run's cancellation, which the callback
	// checks instead: the SQLite driver watches a cancellable context with
	// a goroutine per page, a real share of a million-record scan.
	err = env.CRM.List(context.WithoutCancel(ctx), d.s.Object, fields, func(rec crm.Record) error {
		if n++; n%progressEvery == 0 {
			env.Progress.Step(stage, n, 0)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		cur := strings.TrimSpace(rec.Fields[d.s.Field])
		p, known := owners[cur]
		for _, r := range rules {
			if !r.matches(rec) {
				continue
			}
			switch {
			case r.broken != "":
				r.count++
				if len(r.first) < maxIDsShown {
					r.first = append(r.first, rec.ID)
				}
			case cur != r.to.id:
				moves = append(moves, move{id: rec.ID, before: rec.Fields[d.s.Field], to: r.to, rule: r})
			}
			return nil // the first matching rule decides
		}
		switch {
		case cur == "" || (known && p.active):
		case !known:
			u := unknown[cur]
			if u == nil {
				u = &stranded{}
				unknown[strings.Clone(cur)] = u
			}
			u.count++
			if len(u.first) < maxIDsShown {
				u.first = append(u.first, rec.ID)
			}
		default:
			waiting = append(waiting, move{id: rec.ID, before: rec.Fields[d.s.Field]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Round robin, in record id order whatever order the CRM listed them in.
	sort.Slice(waiting, func(i, j int) bool { return lessID(waiting[i].id, waiting[j].id) })
	if len(rotation) == 0 && len(waiting) > 0 {
		left := map[string]int{}
		for _, w := range waiting {
			left[strings.TrimSpace(w.before)]++
		}
		for _, id := range sortedKeys(left) {
			res.Skipped = append(res.Skipped, detect.Problem{File: d.file, Line: d.s.Pos.KeyLine("reassign_inactive_to"),
				Reason: fmt.Sprintf("owner %s is inactive and reassign_inactive_to names no active owner; %d %s left with them", owners[id].label, left[id], d.s.Object)})
		}
	} else {
		for i := range waiting {
			waiting[i].to, waiting[i].seq = rotation[i%len(rotation)], i+1
		}
		moves = append(moves, waiting...)
	}
	sort.Slice(moves, func(i, j int) bool { return lessID(moves[i].id, moves[j].id) })
	res.Changes = make([]batch.Change, len(moves))
	for i, m := range moves {
		res.Changes[i] = d.change(m, owners, source, len(waiting))
	}

	for _, r := range rules {
		if r.broken != "" && r.count > 0 {
			res.Skipped = append(res.Skipped, detect.Problem{File: d.file, Line: r.line,
				Reason: fmt.Sprintf("territory rule %d %s; %d %s it matches were left alone (%s)", r.n, r.broken, r.count, d.s.Object, ids(r.first, r.count))})
		}
	}
	for _, id := range sortedKeys(unknown) {
		u := unknown[id]
		res.Skipped = append(res.Skipped, detect.Problem{File: source,
			Reason: fmt.Sprintf("owner %s is not in %s; %d %s they own were left alone (%s)", id, source, u.count, d.s.Object, ids(u.first, u.count))})
	}
	return res, nil
}

// change makes a move a change. Reasons are concatenated, not formatted:
// hundreds of thousands of them through fmt cost a second.
func (d *Detector) change(m move, owners map[string]person, source string, rotated int) batch.Change {
	cur := strings.TrimSpace(m.before)
	p, known := owners[cur]
	var reason string
	if m.rule != nil {
		var from string
		switch {
		case cur == "":
			from = "unowned"
		case !known:
			from = "owner " + cur + " is not in " + source
		case !p.active:
			from = "owner " + p.label + " is inactive"
		default:
			from = "owned by " + p.label
		}
		reason = from + "; territory rule " + strconv.Itoa(m.rule.n) + " at " + d.file + ":" + strconv.Itoa(m.rule.line) +
			" (" + m.rule.desc + ") gives it to " + m.to.label
	} else {
		reason = "owner " + p.label + " is inactive and no territory rule matches; round robin over reassign_inactive_to gives " +
			m.to.label + " (" + strconv.Itoa(m.seq) + " of " + strconv.Itoa(rotated) + " reassigned, in id order)"
	}
	return batch.Change{
		Kind:       "owner",
		Object:     d.s.Object,
		Record:     m.id,
		Op:         batch.OpSet,
		Field:      d.s.Field,
		Before:     m.before,
		After:      m.to.id,
		Source:     Source,
		Confidence: 1,
		Trigger:    "rule",
		Reason:     reason,
	}
}

// rules prepares the territory rules; a rule naming an owner who cannot
// take records is kept (it still decides for the records it matches) but
// marked broken.
func (d *Detector) rules(owners map[string]person, source string) []*rule {
	out := make([]*rule, len(d.s.Territories))
	for i, t := range d.s.Territories {
		r := &rule{n: i + 1, line: t.Pos.Line}
		for f := range t.When {
			r.fields = append(r.fields, f)
		}
		sort.Strings(r.fields)
		for _, f := range r.fields {
			shown := make([]string, len(t.When[f]))
			for j, v := range t.When[f] {
				shown[j] = strings.TrimSpace(v)
			}
			r.shown = append(r.shown, shown)
		}
		r.desc = r.describe()
		p, ok := owners[t.Owner]
		switch {
		case !ok:
			r.broken = fmt.Sprintf("names owner %s, who is not in %s", t.Owner, source)
		case !p.active:
			r.broken = fmt.Sprintf("names owner %s, who is inactive", p.label)
		default:
			r.to = p
		}
		out[i] = r
	}
	return out
}

// rotation returns the active owners of reassign_inactive_to in order,
// reporting (and leaving out) those who are unknown or inactive.
func (d *Detector) rotation(owners map[string]person, source string, res *detect.Result) []person {
	var out []person
	for _, id := range d.s.ReassignInactiveTo {
		p, ok := owners[id]
		var why string
		switch {
		case !ok:
			why = fmt.Sprintf("reassign_inactive_to names owner %s, who is not in %s; left out of the rotation", id, source)
		case !p.active:
			why = fmt.Sprintf("reassign_inactive_to names owner %s, who is inactive; left out of the rotation", p.label)
		default:
			out = append(out, p)
			continue
		}
		res.Skipped = append(res.Skipped, detect.Problem{File: d.file, Line: d.s.Pos.KeyLine("reassign_inactive_to"), Reason: why})
	}
	return out
}

// loadOwners reads the owners list, from its file or the settings, and
// names where it came from for messages.
func (d *Detector) loadOwners(env detect.Env, res *detect.Result) (map[string]person, string, error) {
	owners := map[string]person{}
	if d.input == "" {
		for _, o := range d.inline {
			owners[o.ID] = newPerson(o.ID, strings.TrimSpace(o.Name), o.Active)
		}
		return owners, d.file, nil
	}
	f, err := env.OpenInput(d.file, d.inputPos, "input", d.input)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	t, err := table.Open(d.input, f)
	if err != nil {
		return nil, "", err
	}
	idCol, err := t.Column("id")
	if err != nil {
		return nil, "", err
	}
	activeCol, err := t.Column("active")
	if err != nil {
		return nil, "", err
	}
	nameCol := -1
	if t.Has("name") {
		nameCol, _ = t.Column("name")
	}
	lines := map[string]int{}
	skip := func(line int, format string, args ...any) {
		res.Skipped = append(res.Skipped, detect.Problem{File: d.input, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	for {
		line, row, why, err := t.Next()
		if errors.Is(err, io.EOF) {
			return owners, d.input, nil
		}
		if err != nil {
			return nil, "", err
		}
		if why != "" {
			skip(line, "%s", why)
			continue
		}
		id := strings.TrimSpace(row[idCol])
		if id == "" {
			skip(line, "no owner id")
			continue
		}
		active, ok := parseActive(row[activeCol])
		if !ok {
			skip(line, "active is %q for owner %s, not true or false", strings.TrimSpace(row[activeCol]), id)
			continue
		}
		if first, dup := lines[id]; dup {
			skip(line, "owner %s is already on line %d; only line %d is used", id, first, first)
			continue
		}
		lines[strings.Clone(id)] = line
		var name string
		if nameCol >= 0 {
			name = strings.TrimSpace(row[nameCol])
		}
		p := newPerson(strings.Clone(id), strings.Clone(name), active)
		owners[p.id] = p
	}
}

// parseActive reads an active cell.
func parseActive(s string) (active, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "active":
		return true, true
	case "false", "no", "n", "0", "inactive":
		return false, true
	}
	return false, false
}

// ids lists the first record ids of a group, with "..." when there are more.
func ids(first []string, count int) string {
	s := strings.Join(first, ", ")
	if count > len(first) {
		s += ", ..."
	}
	return s
}

// lessID orders record ids numerically when both are numbers, else as text.
func lessID(a, b string) bool {
	if isDigits(a) && isDigits(b) && len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
