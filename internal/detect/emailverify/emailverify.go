// Package emailverify proposes email deliverability statuses from an email
// verification vendor's results file (ZeroBounce, NeverBounce, Kickbox, or a
// generic email,status file). Each vendor's statuses are mapped to one
// vocabulary (see Statuses) and written to one CRM field, email_status by
// default, of every record holding the verified address: the status belongs
// to the mailbox, so records sharing an email all get it. A record already
// holding the status gets no change.
//
// Under the default policy a valid status applies automatically (rule
// email-valid) and every other status goes to review (email-risky).
//
// Memory: the results are indexed by normalized email (one small entry per
// row); the CRM is streamed once reading only the email and status fields.
package emailverify

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
const Name = "email_verification"

// Defaults for unset settings.
const (
	DefaultField      = "email_status"
	DefaultEmailField = "email"
	DefaultObject     = "contacts"
	DefaultConfidence = 0.95
)

// Settings are the detector's keys under detectors.email_verification in
// crmops.yaml:
//
//	email_verification:
//	  input: data/zerobounce-results.csv   # required
//	  format: zerobounce                   # zerobounce | neverbounce | kickbox | generic; required
//	  field: email_status                  # default email_status: the field the status is written to
//	  object: contacts                     # default contacts
//	  email_field: email                   # default email: the field records are matched on
//	  source: zerobounce                   # default: the format's name
//	  confidence: 0.95                     # default 0.95
//	  columns: {email: Email}              # optional: header names differing from the format's
type Settings struct {
	// Input is the vendor's results file (CSV with a header row), relative
	// to the repository root.
	Input string `yaml:"input" strict:"required"`
	// Format names the vendor whose columns and statuses the file has:
	// zerobounce, neverbounce, kickbox, or generic (columns email and
	// status, statuses already in this package's vocabulary).
	Format string `yaml:"format" strict:"required"`
	// Field is the CRM field the status is written to. Default email_status.
	Field string `yaml:"field"`
	// Object is the CRM object whose email field is matched. Default contacts.
	Object string `yaml:"object"`
	// EmailField is the CRM field holding the address records are matched
	// on. Default email (Salesforce: Email).
	EmailField string `yaml:"email_field"`
	// Source is recorded on every change; default the format's name.
	Source string `yaml:"source"`
	// Confidence is how far the vendor's verdict is trusted, 0..1. Default
	// 0.95. It does not vary by status: the vendor is as sure of an
	// "unknown" as of a "valid"; the policy decides what each may do.
	Confidence float64 `yaml:"confidence"`
	// Columns overrides header names the format expects, by role: email,
	// status, and for zerobounce sub_status, for kickbox role, disposable and
	// accept_all. The defaults are in the package documentation of each
	// format.
	Columns map[string]string `yaml:"columns"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Detector proposes email statuses from a verification vendor's results.
type Detector struct {
	file   string // crmops.yaml, for errors about the settings
	s      Settings
	format *format
}

// New decodes and checks the detector's settings from file (crmops.yaml).
func New(file string, settings *yaml.Node) (detect.Detector, error) {
	var s Settings
	if err := detect.DecodeSettings(file, Name, settings, &s); err != nil {
		return nil, err
	}
	bad := func(key, format string, args ...any) error { return s.Pos.Errorf(file, key, format, args...) }
	if strings.TrimSpace(s.Input) == "" {
		return nil, bad("input", "must name the vendor's results file")
	}
	f, ok := Formats[s.Format]
	if !ok {
		return nil, bad("format", "unknown format %q (zerobounce, neverbounce, kickbox or generic)", s.Format)
	}
	if s.Field == "" {
		s.Field = DefaultField
	}
	if s.EmailField == "" {
		s.EmailField = DefaultEmailField
	}
	if !batch.ValidField(s.EmailField) || strings.EqualFold(s.EmailField, "id") {
		return nil, bad("email_field", "%q is not a CRM field name", s.EmailField)
	}
	if !batch.ValidField(s.Field) || strings.EqualFold(s.Field, "id") || s.Field == s.EmailField {
		return nil, bad("field", "%q cannot hold the status (a field name other than id and %s)", s.Field, s.EmailField)
	}
	if s.Object == "" {
		s.Object = DefaultObject
	}
	if !batch.ValidObject(s.Object) {
		return nil, bad("object", "%q is not an object name (letters, digits, _)", s.Object)
	}
	if s.Source == "" {
		s.Source = s.Format
	}
	if !s.Pos.Has("confidence") {
		s.Confidence = DefaultConfidence
	}
	if s.Confidence < 0 || s.Confidence > 1 {
		return nil, bad("confidence", "%v is outside 0..1", s.Confidence)
	}
	for role := range s.Columns {
		if _, req := f.required[role]; !req {
			if _, opt := f.optional[role]; !opt {
				return nil, &strictyaml.Error{File: file, Line: s.Pos.KeyLine("columns"), Key: s.Pos.KeyPath("columns") + "." + role,
					Msg: fmt.Sprintf("format %s reads no %q column (it reads %s)", f.name, role, strings.Join(roles(f), ", "))}
			}
		}
	}
	return &Detector{file: file, s: s, format: f}, nil
}

// roles lists the column roles a format reads.
func roles(f *format) []string {
	var out []string
	for r := range f.required {
		out = append(out, r)
	}
	for r := range f.optional {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// result is one usable row: the status its email gets.
type result struct {
	line    int
	email   string
	status  string
	vendor  string // what the file said, for the reason
	matched int
	// The records to change: the first inline (most addresses belong to
	// one record), any others after it.
	hits int
	hit  hit
	more []hit
}

// hit is a record holding a verified address and not yet its status.
type hit struct {
	id, before string
}

// progressEvery is how many rows or records pass between progress reports
// (and context checks).
const progressEvery = 10_000

// Detect reads the results and proposes every status the CRM lacks.
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
	cols, err := d.layout(t)
	if err != nil {
		return nil, err
	}
	res := &detect.Result{}
	results, index, err := d.read(ctx, env, t, cols, res)
	if err != nil {
		return nil, err
	}
	if len(results) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := d.match(ctx, env, results, index); err != nil {
			return nil, err
		}
		res.Changes = d.changes(results)
	}
	for i := range results {
		if r := &results[i]; r.matched == 0 {
			res.Skipped = append(res.Skipped, detect.Problem{File: d.s.Input, Line: r.line,
				Reason: fmt.Sprintf("no %s record with email %s", d.s.Object, r.email)})
		}
	}
	sort.SliceStable(res.Skipped, func(i, j int) bool { return res.Skipped[i].Line < res.Skipped[j].Line })
	return res, nil
}

// layout finds the format's columns in the header: a missing required
// column is an error for the file, a missing optional one reads as empty.
func (d *Detector) layout(t *table.Table) (map[string]int, error) {
	cols := map[string]int{}
	for _, role := range sortedKeys(d.format.required) {
		h := d.header(role)
		i, err := t.Column(h)
		if err != nil {
			return nil, fmt.Errorf("%s; a %s file needs its %s column (set detectors.%s.columns.%s if it has another name)", err, d.format.name, role, Name, role)
		}
		cols[role] = i
	}
	for _, role := range sortedKeys(d.format.optional) {
		h := d.header(role)
		if t.Has(h) {
			cols[role], _ = t.Column(h)
		} else if _, named := d.s.Columns[role]; named {
			_, err := t.Column(h)
			return nil, err
		}
	}
	return cols, nil
}

// header is the header name of a column role: the settings' name, else
// the format's.
func (d *Detector) header(role string) string {
	if h, ok := d.s.Columns[role]; ok {
		return h
	}
	if h, ok := d.format.required[role]; ok {
		return h
	}
	return d.format.optional[role]
}

// read reads every row, reports the unusable ones, and indexes the rest by
// normalized email; the first row for an email wins.
func (d *Detector) read(ctx context.Context, env detect.Env, t *table.Table, cols map[string]int, res *detect.Result) ([]result, map[string]int32, error) {
	var results []result
	index := map[string]int32{}
	skip := func(line int, format string, args ...any) {
		res.Skipped = append(res.Skipped, detect.Problem{File: d.s.Input, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	var cells []string
	cell := func(role string) string {
		i, ok := cols[role]
		if !ok {
			return ""
		}
		return strings.ToLower(strings.TrimSpace(cells[i]))
	}
	stage := Name + ": " + d.s.Input
	for n := 1; ; n++ {
		if n%progressEvery == 0 {
			env.Progress.Step(stage, n, 0)
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		line, row, why, err := t.Next()
		if errors.Is(err, io.EOF) {
			return results, index, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if why != "" {
			skip(line, "%s", why)
			continue
		}
		cells = row
		raw := strings.TrimSpace(row[cols[colEmail]])
		email := normEmail(raw)
		switch {
		case raw == "":
			skip(line, "no email in column %q", d.header(colEmail))
			continue
		case !validEmail(email):
			skip(line, "malformed email %q", raw)
			continue
		}
		if cell(colStatus) == "" {
			skip(line, "no status for %s", email)
			continue
		}
		status, vendor, why := d.format.status(cell)
		if why != "" {
			skip(line, "%s", why)
			continue
		}
		if status == "" {
			skip(line, "unknown %s status %q for %s", d.format.name, vendor, email)
			continue
		}
		if first, dup := index[email]; dup {
			skip(line, "same email %s as line %d; only line %d is used", email, results[first].line, results[first].line)
			continue
		}
		index[strings.Clone(email)] = int32(len(results))
		results = append(results, result{line: line, email: strings.Clone(email), status: status, vendor: strings.Clone(vendor)})
	}
}

// match streams the CRM and notes, for each result, the records holding
// its address but not its status.
func (d *Detector) match(ctx context.Context, env detect.Env, results []result, index map[string]int32) error {
	stage := Name + ": " + d.s.Object
	n := 0
	// The listing runs without the run's cancellation, which the callback
	// checks instead: the SQLite driver watches a cancellable context with
	// a goroutine per page, a real share of a million-record scan.
	return env.CRM.List(context.WithoutCancel(ctx), d.s.Object, []string{d.s.EmailField, d.s.Field}, func(rec crm.Record) error {
		if n++; n%progressEvery == 0 {
			env.Progress.Step(stage, n, 0)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		email := normEmail(rec.Fields[d.s.EmailField])
		if email == "" {
			return nil
		}
		i, ok := index[email]
		if !ok {
			return nil
		}
		r := &results[i]
		r.matched++
		before := rec.Fields[d.s.Field]
		if strings.TrimSpace(before) == r.status {
			return nil
		}
		if r.hits == 0 {
			r.hit = hit{rec.ID, before}
		} else {
			r.more = append(r.more, hit{rec.ID, before})
		}
		r.hits++
		return nil
	})
}

// changes proposes the statuses, in input order (then record order): a
// reviewer reads the batch next to the file. Reasons are concatenated, not
// formatted: a million of them through fmt cost a second.
func (d *Detector) changes(results []result) []batch.Change {
	total := 0
	for i := range results {
		total += results[i].hits
	}
	out := make([]batch.Change, 0, total)
	for i := range results {
		r := &results[i]
		if r.hits == 0 {
			continue
		}
		says := d.s.Input + ":" + strconv.Itoa(r.line) + ": " + d.format.name + " says " + r.email +
			" is " + strconv.Quote(r.vendor) + ", which is " + r.status + "; "
		add := func(h hit) {
			holds := d.s.Field + " is empty in the CRM"
			if h.before != "" {
				holds = "the CRM has " + d.s.Field + " " + strconv.Quote(h.before)
			}
			out = append(out, batch.Change{
				Kind:       "email_verification",
				Object:     d.s.Object,
				Record:     h.id,
				Op:         batch.OpSet,
				Field:      d.s.Field,
				Before:     h.before,
				After:      r.status,
				Source:     d.s.Source,
				Confidence: d.s.Confidence,
				Trigger:    "import",
				Reason:     says + holds,
			})
		}
		add(r.hit)
		for _, h := range r.more {
			add(h)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
