// Package dedupe finds duplicate contacts and companies (or any object
// compared as either, such as Salesforce's Contact, Lead and Account) and
// proposes merging each group of duplicates into one survivor.
//
// It reads the CRM through crm.Connector only: one List pass per object with
// just the fields it compares, then Get for the records of the groups found.
// So it works on the embedded CRM and on HubSpot alike. It is a
// Fellegi-Sunter record linkage model trained on the data itself, the way
// Splink does it:
//
//  1. Fields. By default the standard properties the data has (contacts:
//     email, firstname, lastname, phone, mobilephone, company, address,
//     city, state, zip, country, date_of_birth; companies: name, domain,
//     phone, address, city, state, zip, country), each with a comparison
//     type (compare.go); crmops.yaml may add identifiers and more fields
//     per object. A field no record has is left out.
//  2. Blocking (block.go). Several cheap rules, OR-ed, each giving records
//     keys: the email, its local part, the phone, the name in either order,
//     last or first name with the date of birth, the last name's sound with
//     the zip or city, an identifier, the house number and street; for
//     companies the domain, the name, its first two words, the phone and the
//     address. Only records sharing a key are compared; a block larger than
//     MaxBlock is split by other fields and what is still too large is left
//     uncompared and reported. Each rule's count of candidate pairs is
//     reported (Report) before anything is scored.
//  3. Scoring (model.go). Each comparison puts a pair at a level (exact,
//     typo, nickname, missing, different...). u, the level's probability
//     for two random records, is measured on random pairs of the data; m,
//     its probability for two records of one person, is estimated by
//     expectation-maximisation over the candidate pairs. Both start from
//     documented values per level (the kinds table in compare.go) that the
//     data moves in proportion to how much of it there is, so a CRM of
//     five records still gets its obvious merges (model.go). A pair's
//     match weight adds the levels' log2(m/u), with exact agreements
//     adjusted by how common the shared value is; the merge's confidence is
//     the probability it gives, and the reason lists every field's
//     contribution like Splink's waterfall.
//  4. Vetoes (model.veto): four rules, below, keep a pair apart whatever
//     its weight. A vetoed pair is never counted as a match in training
//     either.
//  5. Grouping (cluster.go). Pairs of at least min_confidence are joined
//     transitively, but a pair is never merged, directly or through others,
//     when a veto holds or its evidence is against it (a Bayes factor below
//     1). Each group gets one survivor (package survivorship), and every
//     other member is merged into it only when it matches the survivor, or
//     a member merged before it without contradicting any.
//
// # Objects and their field names
//
// Every object is compared in one of two roles: as people (contacts) or as
// organisations (companies). HubSpot's contacts and companies play their
// own, under the standard names above. Any other object (a Salesforce
// Contact, Lead or Account) says which in its section, and which of its
// fields stand for the standard ones:
//
//	dedupe:
//	  objects: [Contact, Account]
//	  Contact:
//	    as: contacts
//	    standard: {email: Email, firstname: FirstName, lastname: LastName, phone: Phone,
//	      mobilephone: MobilePhone, date_of_birth: Birthdate, created: CreatedDate}
//	  Account:
//	    as: companies
//	    standard: {name: Name, domain: Website, phone: Phone}
//
// Only the standard fields a standard: section names are compared (so no
// field the object lacks is ever read), each the way its standard field is
// (a Website like https://www.acme.com/ as the domain acme.com); created,
// updated and source name the fields survivorship reads the record's
// timestamps and source from. Identifiers, fields, reasons, reports,
// merges, snapshots and survivorship values all use the object's names.
//
// # Vetoes
//
// A match weight adds its fields' evidence as if each were independent of
// the others, which holds for strangers but not for the look-alikes a CRM
// is full of: a family shares its mailbox, phone, address and last name at
// once, colleagues share a switchboard, an employer and a city, branches
// share a name, a domain and a phone. Their agreements add up to a weight
// that overstates the evidence, so the one disagreement that tells them
// apart decides:
//
//   - Given names: two that are neither equal, a nickname, a typo, a
//     close spelling, an initial nor a swap of each other (Daniel and
//     Daniela, Malik and Zofia on one family mailbox) are two people,
//     unless an identifier agrees (identifiers:, such as a national id
//     number).
//   - Last names: different ones while the emails do not agree (two Annas
//     on one switchboard) are two people, unless an identifier agrees; an
//     agreeing email allows it (a new married name).
//   - People (contacts) only: a pair must agree on something that
//     identifies a person, a name, an email, a date of birth or an
//     identifier; a phone, an employer and an address are shared by
//     colleagues and families, and a role address (info@) identifies
//     nobody.
//   - Organisations (companies) only: two house numbers are two sites
//     (one within the other's range, such as 4757 in 4753-59, is one),
//     unless an identifier agrees: branches of one organisation share a
//     name, a domain and a switchboard, not a door.
//
// # Changes
//
// Each loser becomes one change: kind dedupe, op merge, record = survivor,
// merge_from = loser, the loser's and the survivor's non-empty fields as
// snapshot and survivor_snapshot, trigger rule, the confidence and the
// waterfall as reason. After a group's merges come the survivorship values,
// each a set that follows the merge of the record its value comes from.
package dedupe

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/dedupe/survivorship"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Name is the detector's name in crmops.yaml and in batch files.
const Name = "dedupe"

// MaxBlock is the largest block whose records are all compared pairwise.
const MaxBlock = 50

// maxGroup is the largest group of linked records resolved into merges; a
// larger one is a data problem (one value shared by very many records) that
// needs a person.
const maxGroup = 200

// Settings are the detector's keys under detectors.dedupe in crmops.yaml.
// All are optional.
//
//	dedupe:
//	  objects: [Contact, Account]    # default [contacts, companies]
//	  min_confidence: 0.8
//	  Contact:                       # an object's own settings, under its name
//	    as: contacts                 # compared as people (contacts) or organisations (companies)
//	    standard: {email: Email, firstname: FirstName, lastname: LastName, created: CreatedDate}
//	    identifiers: [National_Id__c]
//	    fields: {Nickname__c: name}
//	  Account:
//	    as: companies
//	    standard: {name: Name, domain: Website, phone: Phone}
type Settings struct {
	// Objects to deduplicate (default contacts and companies). contacts and
	// companies are compared as what they are; any other object needs a
	// section saying as: contacts or as: companies.
	Objects []string `yaml:"objects"`
	// MinConfidence drops pairs whose probability of being one record is
	// below it (default 0.8).
	MinConfidence *float64 `yaml:"min_confidence"`
	// Source is written into every change (default "dedupe").
	Source string `yaml:"source"`
	// Survivorship is decoded by package survivorship.
	Survivorship yaml.Node `yaml:"survivorship"`
	// Sections are the objects' own settings, each under the object's
	// name beside the keys above (contacts:, companies:, Contact:): any
	// object in Objects may have one, and contacts and companies always
	// may. Decoded by hand, see decodeSettings.
	Sections map[string]*ObjectSettings `yaml:"-"`
}

// settingsKeys are the keys of Settings; every other key of
// detectors.dedupe is an object's section.
var settingsKeys = []string{"min_confidence", "objects", "source", "survivorship"}

// ObjectSettings are one object's keys under detectors.dedupe.<object>.
type ObjectSettings struct {
	// As says how the object's records are compared: as people
	// (contacts: names, emails, dates of birth, ...) or as organisations
	// (companies: names, domains, sites). Default: the object's name for
	// contacts and companies; required for any other object.
	As string `yaml:"as"`
	// Standard maps the standard fields of the object's role (contacts:
	// email, firstname, lastname, phone, mobilephone, company, address,
	// city, state, zip, country, date_of_birth; companies: name, domain,
	// phone, address, city, state, zip, country) to the object's own
	// fields (email: Email), and, for survivorship, created, updated and
	// source to its timestamps and source field (a name or a list).
	// Without it the standard names are the object's; with it only the
	// standard fields it names are compared.
	Standard yaml.Node `yaml:"standard"`
	// Identifiers are fields holding ids (a national id, a customer
	// number): equal is strong evidence for, different strong evidence
	// against.
	Identifiers []string `yaml:"identifiers"`
	// Fields maps more fields to compare to a comparison type (name,
	// email, phone, date, postcode, address, text, exact); a standard
	// field listed here (by the object's name for it) is compared with the
	// type given.
	Fields yaml.Node `yaml:"fields"`

	Pos strictyaml.Pos `yaml:"-"`
}

// objectConfig is what one object compares.
type objectConfig struct {
	fields []fieldSpec
	idents []string
	// role is contacts or companies; standard maps standard field names
	// to the object's (nil: the standard names themselves).
	role     string
	standard map[string]string
	// surv is what survivorship needs of the mapping, nil without one.
	surv *survivorship.Standard
}

// Detector finds duplicate records.
type Detector struct {
	objects []string
	config  map[string]objectConfig
	min     float64
	source  string
	surv    survivorRules
}

var _ detect.Detector = (*Detector)(nil)

// New builds the detector from its settings in file (crmops.yaml); nil
// settings mean the defaults.
func New(file string, settings *yaml.Node) (detect.Detector, error) {
	return newDetector(file, settings)
}

func newDetector(file string, settings *yaml.Node) (*Detector, error) {
	var s Settings
	var at map[string]*yaml.Node // each section's key, for errors
	if settings != nil && settings.Kind != 0 && !(settings.Kind == yaml.ScalarNode && settings.Tag == "!!null") {
		var err error
		if s, at, err = decodeSettings(file, settings); err != nil {
			return nil, err
		}
	}
	d := &Detector{objects: []string{roleContacts, roleCompanies}, min: 0.8, source: Name, config: map[string]objectConfig{}}
	// A section must belong to an object deduplicated (or be contacts or
	// companies): any other is a misspelt key or object.
	objects := d.objects
	if s.Objects != nil {
		objects = s.Objects
	}
	var names []string
	for name := range s.Sections {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == roleContacts || name == roleCompanies || slices.Contains(objects, name) {
			continue
		}
		k := at[name]
		msg := fmt.Sprintf("unknown key (known keys: %s; or the name of an object in objects:, for its own settings)", strings.Join(settingsKeys, ", "))
		if hint := crm.SuggestObject(name, append(slices.Clone(settingsKeys), append([]string{roleContacts, roleCompanies}, objects...)...)); hint != "" {
			msg += fmt.Sprintf("; did you mean %q?", hint)
		}
		return nil, &strictyaml.Error{File: file, Line: k.Line, Key: "detectors." + Name + "." + name, Msg: msg}
	}
	if s.Objects != nil {
		if len(s.Objects) == 0 {
			return nil, fmt.Errorf("%s: detectors.%s.objects: empty list; name contacts and/or companies (or other objects, each with a section saying as: contacts or as: companies), or leave the key out", file, Name)
		}
		seen := map[string]bool{}
		for _, o := range s.Objects {
			switch sec := s.Sections[o]; {
			case !batch.ValidObject(o):
				return nil, fmt.Errorf("%s: detectors.%s.objects: %q is not an object name (letters, digits, _)", file, Name, o)
			case o == roleContacts || o == roleCompanies:
			case sec == nil:
				return nil, fmt.Errorf("%s: detectors.%s.objects: %q is not supported (contacts, companies; or give it a section detectors.%s.%s saying as: contacts or as: companies)", file, Name, o, Name, o)
			}
			if seen[o] {
				return nil, fmt.Errorf("%s: detectors.%s.objects: %q is listed twice", file, Name, o)
			}
			seen[o] = true
		}
		d.objects = s.Objects
	}
	if s.MinConfidence != nil {
		if m := *s.MinConfidence; m <= 0 || m > 1 || m != m {
			return nil, fmt.Errorf("%s: detectors.%s.min_confidence: %v is outside (0, 1]", file, Name, m)
		}
		d.min = *s.MinConfidence
	}
	if s.Source != "" {
		d.source = s.Source
	}
	std := map[string]survivorship.Standard{}
	for _, obj := range append(slices.Clone(d.objects), roleContacts, roleCompanies) {
		if _, done := d.config[obj]; done {
			continue
		}
		cfg, err := objectSettings(file, obj, s.Sections[obj])
		if err != nil {
			return nil, err
		}
		d.config[obj] = cfg
		if cfg.surv != nil {
			std[obj] = *cfg.surv
		}
	}
	surv, err := newSurvivorRules(file, &s.Survivorship, std)
	if err != nil {
		return nil, err
	}
	d.surv = surv
	return d, nil
}

// decodeSettings decodes detectors.dedupe: the keys of Settings strictly,
// and every other key as an object's section, strictly too. It returns
// each section's key node, for errors.
func decodeSettings(file string, n *yaml.Node) (Settings, map[string]*yaml.Node, error) {
	var s Settings
	if n.Kind != yaml.MappingNode {
		// The decoder says what is wrong with it.
		return s, nil, detect.DecodeSettings(file, Name, n, &s)
	}
	top := &yaml.Node{Kind: yaml.MappingNode, Tag: n.Tag, Line: n.Line, Column: n.Column}
	at := map[string]*yaml.Node{}
	type section struct{ key, val *yaml.Node }
	var sections []section
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if slices.Contains(settingsKeys, k.Value) {
			top.Content = append(top.Content, k, v)
			continue
		}
		if _, dup := at[k.Value]; dup {
			return s, nil, &strictyaml.Error{File: file, Line: k.Line, Key: "detectors." + Name + "." + k.Value, Msg: "duplicate key"}
		}
		at[k.Value] = k
		sections = append(sections, section{k, v})
	}
	if err := detect.DecodeSettings(file, Name, top, &s); err != nil {
		return s, nil, err
	}
	s.Sections = map[string]*ObjectSettings{}
	for _, sec := range sections {
		name := sec.key.Value
		if !batch.ValidObject(name) {
			return s, nil, &strictyaml.Error{File: file, Line: sec.key.Line, Key: "detectors." + Name + "." + name,
				Msg: fmt.Sprintf("unknown key (known keys: %s; or the name of an object in objects:, for its own settings)", strings.Join(settingsKeys, ", "))}
		}
		var o *ObjectSettings
		if err := strictyaml.DecodeNode(file, "detectors."+Name+"."+name, sec.val, &o); err != nil {
			return s, nil, err
		}
		if o == nil {
			o = &ObjectSettings{}
		}
		if o.Pos.Line == 0 {
			o.Pos.Line = sec.key.Line // an empty section: errors name its key's line
		}
		s.Sections[name] = o
	}
	return s, at, nil
}

// standardKeys are the standard names a standard: section may map beside
// the compared fields: survivorship's timestamps and source.
var standardKeys = []string{"created", "updated", "source"}

// objectSettings turns an object's section into what it compares: the
// defaults (in the object's names), the identifiers, then the fields, each
// field once.
func objectSettings(file, obj string, s *ObjectSettings) (objectConfig, error) {
	path := "detectors." + Name + "." + obj
	cfg := objectConfig{role: obj}
	if s != nil && s.As != "" {
		if s.As != roleContacts && s.As != roleCompanies {
			return cfg, s.Pos.Errorf(file, "as", "%q is not a role (contacts: compared as people; companies: compared as organisations)", s.As)
		}
		cfg.role = s.As
	}
	if cfg.role != roleContacts && cfg.role != roleCompanies {
		line := 0
		if s != nil {
			line = s.Pos.Line
		}
		return cfg, &strictyaml.Error{File: file, Line: line, Key: path + ".as",
			Msg: fmt.Sprintf("missing: say whether %s is compared as people (as: contacts) or as organisations (as: companies)", obj)}
	}
	if s != nil && !empty(&s.Standard) {
		if err := cfg.readStandard(file, path+".standard", &s.Standard); err != nil {
			return cfg, err
		}
	}
	cfg.fields = specsFor(cfg.role, cfg.standard)
	if s == nil {
		return cfg, nil
	}
	seen := map[string]bool{}
	for _, id := range s.Identifiers {
		if !batch.ValidField(id) {
			return cfg, fmt.Errorf("%s: %s.identifiers: %q is not a field name", file, path, id)
		}
		if seen[id] {
			return cfg, fmt.Errorf("%s: %s.identifiers: %q is listed twice", file, path, id)
		}
		seen[id] = true
		cfg.idents = append(cfg.idents, id)
		cfg.fields = setField(cfg.fields, fieldSpec{id, kindID})
	}
	if n := &s.Fields; !empty(n) {
		if n.Kind != yaml.MappingNode {
			return cfg, fmt.Errorf("%s:%d: %s.fields: want a map of field: comparison type (%s)", file, n.Line, path, strings.Join(userKinds, " | "))
		}
		for k := 0; k+1 < len(n.Content); k += 2 {
			key, val := n.Content[k], n.Content[k+1]
			at := fmt.Sprintf("%s:%d: %s.fields.%s", file, key.Line, path, key.Value)
			switch {
			case !batch.ValidField(key.Value):
				return cfg, fmt.Errorf("%s: not a field name", at)
			case seen[key.Value]:
				return cfg, fmt.Errorf("%s: listed twice (or also an identifier)", at)
			case val.Kind != yaml.ScalarNode || !slices.Contains(userKinds, val.Value):
				return cfg, fmt.Errorf("%s: %q is not a comparison type (%s)", at, val.Value, strings.Join(userKinds, " | "))
			}
			seen[key.Value] = true
			cfg.fields = setField(cfg.fields, fieldSpec{key.Value, val.Value})
		}
	}
	return cfg, nil
}

// readStandard reads a standard: section (at path) into cfg.standard and
// cfg.surv: standard field name -> the object's field; created, updated
// and source may name a list.
func (cfg *objectConfig) readStandard(file, path string, n *yaml.Node) error {
	bad := func(at *yaml.Node, key, format string, args ...any) error {
		return &strictyaml.Error{File: file, Line: at.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if n.Kind != yaml.MappingNode {
		return bad(n, path, "want a map of standard field: the object's field (email: Email)")
	}
	var known []string
	for _, f := range defaultFields[cfg.role] {
		known = append(known, f.field)
	}
	known = append(known, standardKeys...)
	cfg.standard = map[string]string{}
	cfg.surv = &survivorship.Standard{Fields: cfg.standard}
	stands := map[string]string{} // the object's field -> the standard one
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := path + "." + k.Value
		std := k.Value
		if !slices.Contains(known, std) {
			msg := fmt.Sprintf("not a standard field of %s (%s)", cfg.role, strings.Join(known, ", "))
			if hint := crm.SuggestObject(std, known); hint != "" {
				msg += fmt.Sprintf("; did you mean %q?", hint)
			}
			return bad(k, key, "%s", msg)
		}
		if seen[std] {
			return bad(k, key, "duplicate key")
		}
		seen[std] = true
		items := []*yaml.Node{v}
		list := slices.Contains(standardKeys, std)
		if list && v.Kind == yaml.SequenceNode {
			items = v.Content
			if len(items) == 0 {
				return bad(v, key, "empty list; name the object's field, or leave the key out")
			}
		}
		var names []string
		for _, it := range items {
			name := strings.TrimSpace(it.Value)
			switch {
			case it.Kind != yaml.ScalarNode || it.Tag == "!!null" || name == "":
				if list {
					return bad(it, key, "want the object's field standing for %s, or a list of them", std)
				}
				return bad(it, key, "want the object's field standing for %s", std)
			case !batch.ValidField(name):
				return bad(it, key, "%q is not a field name", name)
			case stands[name] != "":
				return bad(it, key, "%s already stands for %s", name, stands[name])
			}
			stands[name] = std
			names = append(names, name)
		}
		switch std {
		case "created":
			cfg.surv.Created = names
		case "updated":
			cfg.surv.Updated = names
		case "source":
			cfg.surv.Source = names
		default:
			cfg.standard[std] = names[0]
		}
	}
	return nil
}

func empty(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// setField replaces the spec of f.field, or appends it.
func setField(fields []fieldSpec, f fieldSpec) []fieldSpec {
	for i := range fields {
		if fields[i].field == f.field {
			fields[i] = f
			return fields
		}
	}
	return append(fields, f)
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Detect implements detect.Detector.
func (d *Detector) Detect(ctx context.Context, env detect.Env) (*detect.Result, error) {
	res, _, err := d.Run(ctx, env)
	return res, err
}

// Report is what a run found out on the way: each blocking rule's
// candidate pairs and the trained model of each object.
type Report struct {
	Rules  []RuleReport
	Models []ModelReport
}

// ModelReport describes one object's trained model.
type ModelReport struct {
	Object     string
	Records    int
	Candidates int
	// Prior is the log2 odds that two random records are one.
	Prior float64
	// Lambda is the share of matches EM found among the candidates.
	Lambda     float64
	Iterations int
	Converged  bool
	// Weights lists each comparison's level weights, e.g. "email: exact
	// +18.2, different -3.1".
	Weights []string
}

// Run detects like Detect and also returns the run's Report. Detect sends
// the same report to env.Progress, one stage per rule, so crmops detect
// shows it.
func (d *Detector) Run(ctx context.Context, env detect.Env) (*detect.Result, *Report, error) {
	if env.Progress == nil {
		env.Progress = detect.NoProgress{}
	}
	res := &detect.Result{}
	rep := &Report{}
	ids := 0
	for _, obj := range d.objects {
		if err := d.dedupe(ctx, env, obj, res, rep, &ids); err != nil {
			return nil, nil, err
		}
	}
	return res, rep, nil
}

func (d *Detector) dedupe(ctx context.Context, env detect.Env, obj string, res *detect.Result, rep *Report, ids *int) error {
	l, edges, err := d.link(ctx, env, obj, res, rep)
	if err != nil || l == nil {
		return err
	}
	comps := l.components(edges, res, func(done, total int) { env.Progress.Step("dedupe: grouping "+obj, done, total) })
	edges = nil
	l, comps = l.grouped(comps)
	// The whole table is garbage now, most of what the run held: handing
	// its pages back before the groups' records are read keeps the two
	// stages from adding up in the process's memory, which the runtime
	// would otherwise give back only slowly.
	debug.FreeOSMemory()
	changes, err := d.changes(ctx, env, l, comps, res, ids)
	if err != nil {
		return err
	}
	res.Changes = append(res.Changes, changes...)
	return nil
}

// link reads obj's records, blocks them, trains the model and scores the
// candidate pairs: the linker and the pairs it accepts.
func (d *Detector) link(ctx context.Context, env detect.Env, obj string, res *detect.Result, rep *Report) (*linker, []edge, error) {
	cfg := d.config[obj]
	t := newTableAs(obj, cfg.role, cfg.standard, cfg.fields)
	stage := "dedupe: reading " + obj
	read := make([]string, 0, len(cfg.fields))
	for _, f := range cfg.fields {
		read = append(read, f.field)
	}
	err := env.CRM.List(ctx, obj, read, func(r crm.Record) error {
		t.add(r)
		if n := t.len(); n%50000 == 0 {
			env.Progress.Step(stage, n, 0)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dedupe: read %s: %w", obj, err)
	}
	env.Progress.Step(stage, t.len(), t.len())
	t.finish()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	comps, err := t.comparisons(cfg)
	if err != nil {
		return nil, nil, err
	}
	blockRules := t.rules(cfg.idents)
	pairs, rules, samples := t.candidates(blockRules)
	for _, r := range rules {
		rep.Rules = append(rep.Rules, r)
		env.Progress.Step(fmt.Sprintf("dedupe: %s blocking by %s", obj, r.Rule), r.Pairs, 0)
		if r.Oversized > 0 {
			res.Skipped = append(res.Skipped, detect.Problem{
				File: fmt.Sprintf("%s blocking by %s (%d blocks, largest %s)", obj, r.Rule, r.Oversized, r.Example),
				Reason: fmt.Sprintf("blocks of more than %d records: compared only within equal %s; %d records left uncompared",
					MaxBlock, r.splitBy(), r.Uncompared),
			})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	env.Progress.Step("dedupe: scoring "+obj, 0, len(pairs))
	patterns := t.patterns(comps, pairs)
	counts := map[pattern]int{}
	for _, p := range patterns {
		counts[p]++
	}
	var sessions []session
	for ri, r := range blockRules {
		if len(samples[ri]) == 0 {
			continue
		}
		ss := session{rule: r.name, patterns: map[pattern]int{}, exclude: make([]bool, len(comps))}
		for c, cmp := range comps {
			for _, x := range cmp.cols {
				if slices.Contains(r.uses, t.cols[x].field) {
					ss.exclude[c] = true
				}
			}
		}
		for _, p := range t.patterns(comps, samples[ri]) {
			ss.patterns[p]++
		}
		sessions = append(sessions, ss)
	}
	md := train(t, comps, sessions, counts, len(pairs), cfg.role == roleContacts)
	rep.Models = append(rep.Models, md.report(obj, t.len(), len(pairs)))
	l := &linker{t: t, md: md, min: d.min, needIdentity: cfg.role == roleContacts}
	edges := l.edges(pairs, patterns)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return l, edges, nil
}

// comparisons builds the model's comparisons from the fields the data
// has: phone and mobilephone form one comparison (a number in either
// agrees with one in either), first and last name see each other.
func (t *table) comparisons(cfg objectConfig) ([]*comparison, error) {
	var out []*comparison
	phones := -1
	for x, c := range t.cols {
		if c.n == 0 {
			continue // the data has no such field
		}
		cmp := &comparison{name: c.field, kind: kinds[c.kind], cols: []int{x}, other: -1}
		cmp.ident = slices.Contains(cfg.idents, c.field)
		switch c.kind {
		case kindPhone:
			if c.std == "phone" || c.std == "mobilephone" {
				if phones >= 0 {
					out[phones].cols = append(out[phones].cols, x)
					out[phones].name = t.name("phone")
					continue
				}
				phones = len(out)
			}
		case kindName:
			switch c.std {
			case "firstname":
				cmp.first = true
				if o := t.col("lastname"); o != nil {
					cmp.other = t.colOf[o.field]
				}
			case "lastname":
				if o := t.col("firstname"); o != nil {
					cmp.other = t.colOf[o.field]
				}
			}
		}
		switch c.kind {
		case kindName, kindEmail, kindDate, kindID:
			cmp.identity = true
		case kindAddress:
			cmp.site = t.role == roleCompanies
		}
		out = append(out, cmp)
	}
	if len(out) > maxComparisons {
		return nil, fmt.Errorf("dedupe: %s: %d fields to compare, at most %d", t.object, len(out), maxComparisons)
	}
	return out, nil
}

// patterns computes every candidate pair's levels, on every core.
func (t *table) patterns(comps []*comparison, pairs []uint64) []pattern {
	out := make([]pattern, len(pairs))
	workers := max(1, runtime.GOMAXPROCS(0))
	chunk := (len(pairs) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min(len(pairs), (w+1)*chunk)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := lo; k < hi; k++ {
				out[k] = t.pattern(comps, int(pairs[k]>>32), int(uint32(pairs[k])))
			}
		}()
	}
	wg.Wait()
	return out
}

func (md *model) report(obj string, records, candidates int) ModelReport {
	r := ModelReport{Object: obj, Records: records, Candidates: candidates, Prior: md.prior, Lambda: md.lambda, Iterations: md.iterations, Converged: md.converged}
	for c, cmp := range md.comps {
		var ls []string
		for l := 1; l < len(cmp.kind.levels); l++ {
			ls = append(ls, fmt.Sprintf("%s %+.1f", cmp.kind.levels[l].label, md.w[c][l]))
		}
		r.Weights = append(r.Weights, cmp.name+": "+strings.Join(ls, ", "))
	}
	return r
}
