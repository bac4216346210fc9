// Package enrichment proposes CRM field values from an enrichment export: a
// Clay table, an Apollo or ZoomInfo download, any CSV with one row per
// person or company. Each row is matched to its record by email, id or
// domain, and every mapped column becomes a change to one field:
//
//   - the CRM field is empty: fill it (before "");
//   - it holds something else: overwrite it (before = the CRM's value), which
//     the default policy sends to review;
//   - it holds the same value (ignoring surrounding spaces), or the cell is
//     empty: nothing.
//
// A row that matches no record, or matches several records where it should
// match one, is reported and skipped; the detector never guesses which of
// two records sharing an email the row is about.
//
// Memory: the input's rows are indexed by their match key (only the mapped
// cells are kept), and the CRM is streamed once with only the match field
// and the mapped fields, so a million-record CRM costs no more memory than
// the input file's rows. Matching by id reads just the named records.
package enrichment

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
const Name = "enrichment"

// DefaultConfidence is the confidence of a row when neither confidence nor
// confidence_column says otherwise: an exact match against a vendor's data,
// just enough for the default policy to fill empty fields automatically
// (its enrichment-fill-empty rule wants 0.9) while overwrites go to review.
const DefaultConfidence = 0.9

// How rows find their records.
const (
	MatchEmail  = "email"  // the record's email field equals the row's email
	MatchID     = "id"     // the record's id equals the row's id
	MatchDomain = "domain" // the domain field (companies'), else the email's domain
)

// Defaults of the CRM fields that matching reads.
const (
	// DefaultEmailField holds the email matched on (email_field).
	DefaultEmailField = "email"
	// DefaultDomainField is companies' domain field (domain_field); other
	// objects have none by default and match a domain by their emails'.
	DefaultDomainField = "domain"
)

// Settings are the detector's keys under detectors.enrichment in crmops.yaml:
//
//	enrichment:
//	  input: data/clay-export.csv     # required
//	  object: contacts                # default contacts
//	  match_on: email                 # email | id | domain; default email
//	  match_column: Email             # default: the match_on name
//	  email_field: email              # default email: the CRM field holding the email (Salesforce: Email)
//	  domain_field: domain            # default domain for companies, none otherwise (Salesforce Account: Website)
//	  columns:                        # CSV column -> CRM field; default: every other column, same name
//	    Job Title: jobtitle
//	    Company Size: numberofemployees
//	  source: clay                    # required: where the values come from
//	  confidence: 0.95                # default 0.9
//	  confidence_column: Score        # optional per-row confidence, 0..1
type Settings struct {
	// Input is the CSV file, relative to the repository root. Its first row
	// names the columns.
	Input string `yaml:"input" strict:"required"`
	// Object is the CRM object the rows describe: contacts (the default),
	// companies, or any object the CRM has (Salesforce: Contact, Lead,
	// Account).
	Object string `yaml:"object"`
	// MatchOn says how a row finds its record. email: the record's email
	// equals the row's, compared trimmed and in lower case. id: the row holds
	// the record id. domain: the record's domain field (domain_field; for
	// companies domain by default); for other objects without one, the
	// domain of the record's email, and then every record at that domain
	// gets the row's values (free-mail domains are refused).
	// Domains are compared in lower case without scheme, "www." or path.
	MatchOn string `yaml:"match_on"`
	// MatchColumn is the CSV column holding the email, id or domain; by
	// default the column named like match_on.
	MatchColumn string `yaml:"match_column"`
	// EmailField is the CRM field holding the record's email, for match_on
	// email and for a domain matched by the emails' domain. Default email.
	EmailField string `yaml:"email_field"`
	// DomainField is the CRM field holding the record's web domain or site
	// (a URL such as https://www.acme.com/ reads as acme.com): with
	// match_on domain, a row matches the one record whose domain field has
	// its domain. Default domain for companies; other objects have none,
	// and match a domain by their emails' domain, every record at it.
	DomainField string `yaml:"domain_field"`
	// Columns maps CSV columns to the CRM fields they fill. When absent,
	// every column but the match and confidence columns fills the field of
	// its own name.
	Columns map[string]string `yaml:"columns"`
	// Source names where the values come from ("clay"); it is recorded on
	// every change and in the CRM's property history.
	Source string `yaml:"source" strict:"required"`
	// Confidence is how sure you are of this source, 0..1, for rows without
	// a confidence of their own. Default 0.9.
	Confidence float64 `yaml:"confidence"`
	// ConfidenceColumn, when set, names a column holding each row's own
	// confidence (0..1). A row whose cell is not a number in 0..1 is
	// skipped; an empty cell falls back to Confidence.
	ConfidenceColumn string `yaml:"confidence_column"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Detector proposes field values from an enrichment export.
type Detector struct {
	file string // crmops.yaml, for errors about the settings
	s    Settings
}

// New decodes and checks the detector's settings from file (crmops.yaml).
func New(file string, settings *yaml.Node) (detect.Detector, error) {
	var s Settings
	if err := detect.DecodeSettings(file, Name, settings, &s); err != nil {
		return nil, err
	}
	bad := func(key, format string, args ...any) error { return s.Pos.Errorf(file, key, format, args...) }
	if strings.TrimSpace(s.Input) == "" {
		return nil, bad("input", "must name a CSV file")
	}
	if s.Object == "" {
		s.Object = "contacts"
	}
	if !batch.ValidObject(s.Object) {
		return nil, bad("object", "%q is not an object name (letters, digits, _)", s.Object)
	}
	if s.EmailField == "" {
		s.EmailField = DefaultEmailField
	}
	if !validField(s.EmailField) {
		return nil, bad("email_field", "%q is not a CRM field name (letters, digits, _ . -; not id)", s.EmailField)
	}
	if s.DomainField == "" && s.Object == "companies" {
		s.DomainField = DefaultDomainField
	}
	if s.DomainField != "" && !validField(s.DomainField) {
		return nil, bad("domain_field", "%q is not a CRM field name (letters, digits, _ . -; not id)", s.DomainField)
	}
	if s.MatchOn == "" {
		s.MatchOn = MatchEmail
	}
	switch s.MatchOn {
	case MatchEmail, MatchID, MatchDomain:
	default:
		return nil, bad("match_on", "unknown match %q (email, id or domain)", s.MatchOn)
	}
	if s.MatchColumn == "" {
		s.MatchColumn = s.MatchOn
	}
	if strings.TrimSpace(s.Source) == "" {
		return nil, bad("source", "must name where the values come from, e.g. clay")
	}
	if !s.Pos.Has("confidence") {
		s.Confidence = DefaultConfidence
	}
	if s.Confidence < 0 || s.Confidence > 1 {
		return nil, bad("confidence", "%v is outside 0..1", s.Confidence)
	}
	if s.ConfidenceColumn != "" && s.ConfidenceColumn == s.MatchColumn {
		return nil, bad("confidence_column", "%q is the match column", s.ConfidenceColumn)
	}
	targets := map[string]string{}
	for _, col := range sortedKeys(s.Columns) {
		field := s.Columns[col]
		where := &strictyaml.Error{File: file, Line: s.Pos.KeyLine("columns"), Key: s.Pos.KeyPath("columns") + "." + col}
		switch {
		case col == s.MatchColumn || col == s.ConfidenceColumn:
			where.Msg = fmt.Sprintf("%q is the match or confidence column, not a value to write", col)
		case !validField(field):
			where.Msg = fmt.Sprintf("%q is not a CRM field name (letters, digits, _ . -; not id)", field)
		case field == s.matchField():
			where.Msg = fmt.Sprintf("%q is the field rows are matched on; enrichment does not rewrite it", field)
		case targets[field] != "":
			where.Msg = fmt.Sprintf("column %q already fills %q", targets[field], field)
		default:
			targets[field] = col
			continue
		}
		return nil, where
	}
	return &Detector{file: file, s: s}, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// mapping is one CSV column filling one CRM field.
type mapping struct {
	column string
	index  int
	field  string
}

// row is one usable input row: its match key and the cells it would write.
type row struct {
	line       int
	key        string
	confidence float64
	values     []string // per mapping, trimmed; "" proposes nothing
	matched    int
	ids        []string // the first few matched record ids, for messages
	mergedInto string
	changes    []batch.Change
}

// rowChunk is how many rows rowStore allocates at once.
const rowChunk = 4096

// rowStore holds the input's rows in fixed-size chunks: a million rows
// never get copied to a bigger slice as they would by append, and the
// values of a chunk's rows share one allocation.
type rowStore struct {
	chunks [][]row
	values []string // the free tail of the current values block
	n      int
}

func (s *rowStore) len() int      { return s.n }
func (s *rowStore) at(i int) *row { return &s.chunks[i/rowChunk][i%rowChunk] }

// add appends a row with room for width values and returns it.
func (s *rowStore) add(width int) *row {
	if s.n%rowChunk == 0 {
		s.chunks = append(s.chunks, make([]row, rowChunk))
	}
	if len(s.values) < width {
		s.values = make([]string, width*rowChunk)
	}
	r := s.at(s.n)
	r.values, s.values = s.values[:width:width], s.values[width:]
	s.n++
	return r
}

// maxIDsShown bounds the record ids a "matches N records" message lists.
const maxIDsShown = 3

// progressEvery is how many rows or records pass between progress reports
// (and context checks).
const progressEvery = 10_000

// Detect reads the input, matches its rows to records and proposes every
// mapped value the CRM does not already hold.
func (d *Detector) Detect(ctx context.Context, env detect.Env) (*detect.Result, error) {
	f, err := env.OpenInput(d.file, d.s.Pos, "input", d.s.Input)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := table.Open(d.s.Input, f)
	if err != nil {
		return nil, err
	}
	matchCol, confCol, maps, err := d.layout(t)
	if err != nil {
		return nil, err
	}
	res := &detect.Result{}
	rows, index, err := d.readRows(ctx, env, t, matchCol, confCol, maps, res)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.s.MatchOn == MatchID {
		err = d.matchByID(ctx, env, rows, maps)
	} else {
		err = d.matchByList(ctx, env, rows, index, maps)
	}
	if err != nil {
		return nil, err
	}
	d.emit(rows, res)
	sort.SliceStable(res.Skipped, func(i, j int) bool { return res.Skipped[i].Line < res.Skipped[j].Line })
	return res, nil
}

// layout finds the match, confidence and mapped columns in the header.
func (d *Detector) layout(t *table.Table) (matchCol, confCol int, maps []mapping, err error) {
	if matchCol, err = t.Column(d.s.MatchColumn); err != nil {
		return 0, 0, nil, fmt.Errorf("%s; set detectors.%s.match_column to the column holding the %s", err, Name, d.s.MatchOn)
	}
	confCol = -1
	if d.s.ConfidenceColumn != "" {
		if confCol, err = t.Column(d.s.ConfidenceColumn); err != nil {
			return 0, 0, nil, err
		}
	}
	if d.s.Columns != nil {
		for col, field := range d.s.Columns {
			i, err := t.Column(col)
			if err != nil {
				return 0, 0, nil, fmt.Errorf("%s; detectors.%s.columns names it", err, Name)
			}
			if i == matchCol || i == confCol {
				return 0, 0, nil, fmt.Errorf("%s: column %q under detectors.%s.columns is the match or confidence column", t.Name(), col, Name)
			}
			maps = append(maps, mapping{column: col, index: i, field: field})
		}
	} else {
		mf := d.s.matchField()
		for i, col := range t.Header() {
			if i == matchCol || i == confCol {
				continue
			}
			switch {
			case !validField(col):
				return 0, 0, nil, fmt.Errorf("%s: column %q is not a CRM field name; map the columns to fields under detectors.%s.columns", t.Name(), col, Name)
			case col == mf:
				return 0, 0, nil, fmt.Errorf("%s: column %q would rewrite the field rows are matched on; map the columns to write under detectors.%s.columns", t.Name(), col, Name)
			}
			maps = append(maps, mapping{column: col, index: i, field: col})
		}
	}
	if len(maps) == 0 {
		return 0, 0, nil, fmt.Errorf("%s: no columns to write besides the match column; map some under detectors.%s.columns", t.Name(), Name)
	}
	sort.Slice(maps, func(i, j int) bool { return maps[i].index < maps[j].index })
	return matchCol, confCol, maps, nil
}

// readRows reads every input row, reports the unusable ones, and indexes
// the rest by their normalized match key. The first row with a key wins.
func (d *Detector) readRows(ctx context.Context, env detect.Env, t *table.Table, matchCol, confCol int, maps []mapping, res *detect.Result) (*rowStore, map[string]int32, error) {
	rows := &rowStore{}
	index := map[string]int32{}
	skip := func(line int, format string, args ...any) {
		res.Skipped = append(res.Skipped, detect.Problem{File: d.s.Input, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	stage := Name + ": " + d.s.Input
	for n := 1; ; n++ {
		if n%progressEvery == 0 {
			env.Progress.Step(stage, n, 0)
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		line, cells, why, err := t.Next()
		if errors.Is(err, io.EOF) {
			return rows, index, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if why != "" {
			skip(line, "%s", why)
			continue
		}
		raw := strings.TrimSpace(cells[matchCol])
		key, why := d.key(raw)
		if why != "" {
			skip(line, "%s", why)
			continue
		}
		conf := d.s.Confidence
		if confCol >= 0 {
			if c := strings.TrimSpace(cells[confCol]); c != "" {
				v, err := strconv.ParseFloat(c, 64)
				if err != nil || v < 0 || v > 1 || v != v {
					skip(line, "confidence %q in column %q is not a number from 0 to 1", c, d.s.ConfidenceColumn)
					continue
				}
				conf = v
			}
		}
		if first, dup := index[key]; dup {
			l := rows.at(int(first)).line
			skip(line, "same %s %s as line %d; only line %d is used", d.s.MatchOn, key, l, l)
			continue
		}
		// One allocation holds the key and the kept cells: the row's own
		// string would keep every column of a wide export alive.
		var b strings.Builder
		size := len(key)
		for _, m := range maps {
			size += len(strings.TrimSpace(cells[m.index]))
		}
		b.Grow(size)
		b.WriteString(key)
		for _, m := range maps {
			b.WriteString(strings.TrimSpace(cells[m.index]))
		}
		all := b.String()
		r := rows.add(len(maps))
		r.line, r.confidence = line, conf
		r.key, all = all[:len(key)], all[len(key):]
		for j, m := range maps {
			v := len(strings.TrimSpace(cells[m.index]))
			r.values[j], all = all[:v], all[v:]
		}
		index[r.key] = int32(rows.len() - 1)
	}
}

// key normalizes a row's match value, or says why the row cannot be used.
func (d *Detector) key(raw string) (key, why string) {
	if raw == "" {
		return "", fmt.Sprintf("no %s in column %q", d.s.MatchOn, d.s.MatchColumn)
	}
	switch d.s.MatchOn {
	case MatchEmail:
		key = normEmail(raw)
		if !validEmail(key) {
			return "", fmt.Sprintf("malformed email %q", raw)
		}
	case MatchDomain:
		key = normDomain(raw)
		if !validDomain(key) {
			return "", fmt.Sprintf("malformed domain %q", raw)
		}
		if d.oneToMany() && freeMail[key] {
			return "", fmt.Sprintf("%s is a free email provider; matching %s by it would reach unrelated people", key, d.s.Object)
		}
	default:
		key = raw
		if strings.ContainsAny(key, "/\r\n") {
			return "", fmt.Sprintf("malformed id %q", raw)
		}
	}
	return key, ""
}

// oneToMany reports whether a row may rightly match many records: a
// company's domain matched against the email domains of its people (an
// object without a domain field).
func (d *Detector) oneToMany() bool {
	return d.s.MatchOn == MatchDomain && d.s.DomainField == ""
}

// matchField is the CRM field a match reads ("" for ids).
func (s *Settings) matchField() string {
	switch {
	case s.MatchOn == MatchEmail:
		return s.EmailField
	case s.MatchOn == MatchDomain && s.DomainField != "":
		return s.DomainField
	case s.MatchOn == MatchDomain:
		return s.EmailField
	}
	return ""
}

// recordKey is a record's match key in the same normal form as the rows'.
func (d *Detector) recordKey(rec crm.Record) string {
	switch {
	case d.s.MatchOn == MatchEmail:
		return normEmail(rec.Fields[d.s.EmailField])
	case d.oneToMany():
		return emailDomain(normEmail(rec.Fields[d.s.EmailField]))
	default:
		return normDomain(rec.Fields[d.s.DomainField])
	}
}

// fields lists the CRM fields to read: the match field and the mapped ones.
func (d *Detector) fields(maps []mapping) []string {
	var out []string
	if mf := d.s.matchField(); mf != "" {
		out = append(out, mf)
	}
	for _, m := range maps {
		out = append(out, m.field)
	}
	return out
}

// matchByList streams the CRM once and matches every record to the row
// with its key.
func (d *Detector) matchByList(ctx context.Context, env detect.Env, rows *rowStore, index map[string]int32, maps []mapping) error {
	if rows.len() == 0 {
		return nil
	}
	stage := Name + ": " + d.s.Object
	n := 0
	// The listing runs without the run's cancellation, which the callback
	// checks instead: the SQLite driver watches a cancellable context with
	// a goroutine per page, a real share of a million-record scan.
	return env.CRM.List(context.WithoutCancel(ctx), d.s.Object, d.fields(maps), func(rec crm.Record) error {
		if n++; n%progressEvery == 0 {
			env.Progress.Step(stage, n, 0)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := d.recordKey(rec)
		if k == "" {
			return nil
		}
		i, ok := index[k]
		if !ok {
			return nil
		}
		d.match(rows.at(int(i)), rec, maps)
		return nil
	})
}

// getChunk is how many records one Get asks for.
const getChunk = 1000

// matchByID reads the records the rows name, a chunk at a time.
func (d *Detector) matchByID(ctx context.Context, env detect.Env, rows *rowStore, maps []mapping) error {
	fields := d.fields(maps)
	stage := Name + ": " + d.s.Object
	ids := make([]string, 0, getChunk)
	for start := 0; start < rows.len(); start += getChunk {
		end := min(start+getChunk, rows.len())
		ids = ids[:0]
		for i := start; i < end; i++ {
			ids = append(ids, rows.at(i).key)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		recs, err := env.CRM.Get(context.WithoutCancel(ctx), d.s.Object, ids, fields)
		if err != nil {
			return err
		}
		for i := start; i < end; i++ {
			r := rows.at(i)
			rec, ok := recs[r.key]
			switch {
			case !ok:
			case rec.MergedInto != "":
				r.mergedInto = rec.MergedInto
			default:
				d.match(r, rec, maps)
			}
		}
		env.Progress.Step(stage, end, rows.len())
	}
	return nil
}

// match records that rec matched r and works out the changes r proposes
// for it. A row that should name one record keeps no changes once a second
// record matches: it will be reported, not applied to either.
func (d *Detector) match(r *row, rec crm.Record, maps []mapping) {
	r.matched++
	if len(r.ids) < maxIDsShown {
		r.ids = append(r.ids, rec.ID)
	}
	if r.matched > 1 && !d.oneToMany() {
		r.changes = nil
		return
	}
	for j, m := range maps {
		after := r.values[j]
		if after == "" {
			continue
		}
		before := rec.Fields[m.field]
		if strings.TrimSpace(before) == after {
			continue
		}
		// Reasons are concatenated, not formatted: a million of them
		// through fmt cost a second.
		var holds string
		if before == "" {
			holds = m.field + " is empty in the CRM"
		} else {
			holds = "the CRM has " + m.field + " " + strconv.Quote(before) + ", the row has " + strconv.Quote(after)
		}
		r.changes = append(r.changes, batch.Change{
			Kind:       "enrichment",
			Object:     d.s.Object,
			Record:     rec.ID,
			Op:         batch.OpSet,
			Field:      m.field,
			Before:     before,
			After:      after,
			Source:     d.s.Source,
			Confidence: r.confidence,
			Trigger:    "import",
			Reason:     d.s.Input + ":" + strconv.Itoa(r.line) + " (column " + m.column + ") matched by " + d.how(r.key) + "; " + holds,
		})
	}
}

// how says how a row matched, for reasons.
func (d *Detector) how(key string) string {
	if d.oneToMany() {
		return "email domain " + key
	}
	return d.s.MatchOn + " " + key
}

// emit turns matched rows into changes and unmatched ones into problems,
// in input order.
func (d *Detector) emit(rows *rowStore, res *detect.Result) {
	n := 0
	for i := 0; i < rows.len(); i++ {
		if r := rows.at(i); r.matched == 1 || d.oneToMany() {
			n += len(r.changes)
		}
	}
	res.Changes = make([]batch.Change, 0, n)
	for i := 0; i < rows.len(); i++ {
		r := rows.at(i)
		skip := func(format string, args ...any) {
			res.Skipped = append(res.Skipped, detect.Problem{File: d.s.Input, Line: r.line, Reason: fmt.Sprintf(format, args...)})
		}
		switch {
		case r.mergedInto != "":
			skip("%s record %s was merged into %s; match the survivor instead", d.s.Object, r.key, r.mergedInto)
		case r.matched == 0:
			skip("no %s record with %s %s", d.s.Object, d.s.MatchOn, r.key)
		case r.matched > 1 && !d.oneToMany():
			ids := strings.Join(r.ids, ", ")
			if r.matched > len(r.ids) {
				ids += ", ..."
			}
			skip("%s %s matches %d records (%s); not guessing", d.s.MatchOn, r.key, r.matched, ids)
		default:
			if d.oneToMany() {
				for j := range r.changes {
					r.changes[j].Reason += fmt.Sprintf(" (%d %s at %s)", r.matched, d.s.Object, r.key)
				}
			}
			res.Changes = append(res.Changes, r.changes...)
		}
	}
}

// validField reports whether name can be written as a CRM field by a
// change: batch files accept it, and it is not the record id.
func validField(name string) bool {
	return batch.ValidField(name) && !strings.EqualFold(name, "id")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
