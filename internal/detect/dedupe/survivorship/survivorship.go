// Package survivorship decides, for one group of duplicate records, which
// record survives the merge and which value each field of the survivor ends
// with. The dedupe detector asks it; the answers become the group's merges
// and the sets that follow them (batch.Change.Follows), so a reviewer
// approves the merge and the values it keeps in one look.
//
// The rules are data, read from detectors.dedupe.survivorship in
// crmops.yaml (docs/survivorship.md has the whole reference):
//
//	detectors:
//	  dedupe:
//	    survivorship:
//	      survivor: [most_complete, oldest]   # tie-breakers in order; then the lowest id
//	      values: fill_empty                  # the rule of every field not listed
//	      fields:                             # per field
//	        jobtitle: most_recent
//	        phone: most_complete
//	        lifecyclestage: survivor
//	      created_field: [created, createdate]                         # first non-empty wins
//	      updated_field: [updated, lastmodifieddate, hs_lastmodifieddate]
//	      source_field: [source, hs_object_source]
//	      companies:                          # any object: its own rules, over the ones above
//	        survivor: [{source: salesforce}, most_complete]
//
// Survivor tie-breakers, applied in order until one separates two records:
// most_complete (more non-empty fields), oldest (earlier created),
// most_recent (later updated), and source: NAME (or a list of names: the
// record whose source field equals the first name, then the second, ...).
// A record without a readable timestamp is the newest for oldest and the
// oldest for most_recent. When every tie-breaker ties, the lowest id wins
// (numerically when both ids are numbers), so the answer never depends on
// the order records were read in.
//
// Value rules: survivor (keep the survivor's value), most_recent (the value
// of the most recently updated record that has one), most_complete (the
// non-empty value with the most letters and digits: "Robert" over "Bob",
// "+1 415 555 0100" over "555 0100"), fill_empty (another record's value
// only where the survivor's is empty). The default is fill_empty because it
// is what the embedded CRM's merge does by itself (it fills the survivor's
// empty fields from the merged record and keeps every other value): the
// proposed sets then say in the batch what the merge will do, and the
// compare-and-swap of each set holds on any CRM. Ties keep the survivor's
// value; past that, the first record in group order wins, so give the group
// in the order its members are merged (the value fill_empty picks is then
// the one the embedded CRM's merge fills first).
//
// No rule ever proposes a value for the record id (id, hs_object_id, and
// Salesforce's Id), the created, updated and source fields, HubSpot's merge
// bookkeeping (hs_merged_object_ids), merged_into, Salesforce's system
// fields (MasterRecordId, IsDeleted, SystemModstamp, CreatedById,
// LastModifiedById, LastActivityDate, LastViewedDate, LastReferencedDate) or
// a field of crmops' own (a name starting with crmops): those describe the
// record, not the person or company it stands for.
//
// Objects whose fields are not called like HubSpot's (a Salesforce
// Contact's Phone, CreatedDate, LastModifiedDate) are described by a
// Standard mapping, which the dedupe detector takes from each object's
// standard: section (NewFor): the object's created, updated and source
// fields come before the default names, and a top-level fields: rule for a
// standard field (phone: most_complete) applies to the object's field
// (Phone) too.
package survivorship

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/crmops/crmops/internal/batch"
)

// Survivor tie-breakers.
const (
	ByMostComplete = "most_complete"
	ByOldest       = "oldest"
	ByMostRecent   = "most_recent"
	BySource       = "source"
)

// Value rules.
const (
	KeepSurvivor = "survivor"
	MostRecent   = "most_recent"
	MostComplete = "most_complete"
	FillEmpty    = "fill_empty"
)

// ValueRules lists the value rules, for messages.
var ValueRules = []string{KeepSurvivor, MostRecent, MostComplete, FillEmpty}

// Record is one member of a duplicate group: its id and its fields as read
// from the CRM.
type Record struct {
	ID     string
	Fields map[string]string
}

// Value is one field of the survivor that should change so that it ends
// with the value the rules chose.
type Value struct {
	Field string
	// Before is the survivor's value now ("" for empty).
	Before string
	// After is the chosen value.
	After string
	// From is the id of the record the value comes from (never the
	// survivor's).
	From string
	// Rule is the value rule that chose it (most_recent, most_complete or
	// fill_empty).
	Rule string
}

// tieBreaker is one step of the survivor rule.
type tieBreaker struct {
	by      string
	sources []string // for BySource, in order of preference
}

func (t tieBreaker) String() string {
	if t.by == BySource {
		return BySource + ": " + strings.Join(t.sources, ", ")
	}
	return t.by
}

// Rules are survivorship rules: those of one object, or the top-level ones
// with every object's own (see For).
type Rules struct {
	survivor []tieBreaker
	values   string
	fields   map[string]string
	created  []string
	updated  []string
	source   []string
	// objects holds the rules of objects with a section of their own.
	objects map[string]*Rules
}

// Defaults, also what a nil settings node gives.
var (
	DefaultSurvivor = []string{ByMostComplete, ByOldest}
	DefaultValues   = FillEmpty
	// DefaultCreated names the created timestamp: the embedded CRM's
	// (what crmops crm import and the seed data write) and HubSpot's.
	DefaultCreated = []string{"created", "createdate"}
	// DefaultUpdated names the last-modified timestamp: an imported
	// updated column, HubSpot's contacts and companies.
	DefaultUpdated = []string{"updated", "lastmodifieddate", "hs_lastmodifieddate"}
	// DefaultSource names where a record came from: an imported source
	// column, HubSpot's record source.
	DefaultSource = []string{"source", "hs_object_source"}
)

func defaults() *Rules {
	r := &Rules{values: DefaultValues, fields: map[string]string{}}
	for _, by := range DefaultSurvivor {
		r.survivor = append(r.survivor, tieBreaker{by: by})
	}
	r.created = slices.Clone(DefaultCreated)
	r.updated = slices.Clone(DefaultUpdated)
	r.source = slices.Clone(DefaultSource)
	return r
}

// For returns the rules of object: its own section over the top-level
// rules (in its own names, for an object NewFor was given a Standard
// of), or the top-level rules when it has neither. The detector calls
// Survivor and Values on For(object).
func (r *Rules) For(object string) *Rules {
	if o, ok := r.objects[object]; ok {
		return o
	}
	return r
}

// Fields lists the fields the rules of object read beside the data: the
// created timestamp (for oldest), the updated timestamp (for most_recent,
// as a tie-breaker or a value rule) and the source field (for source: NAME),
// each under every name configured, so the detector reads them too.
func (r *Rules) Fields(object string) []string {
	o := r.For(object)
	var created, updated, source bool
	for _, t := range o.survivor {
		switch t.by {
		case ByOldest:
			created = true
		case ByMostRecent:
			updated = true
		case BySource:
			source = true
		}
	}
	if o.values == MostRecent {
		updated = true
	}
	for _, rule := range o.fields {
		if rule == MostRecent {
			updated = true
		}
	}
	var out []string
	add := func(on bool, names []string) {
		for _, n := range names {
			if on && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	add(created, o.created)
	add(updated, o.updated)
	add(source, o.source)
	return out
}

// member is what the rules know of one record of a group.
type member struct {
	id               string
	filled           int
	created, updated time.Time
	hasCreated       bool
	hasUpdated       bool
	source           string
}

func (r *Rules) members(group []Record) []member {
	out := make([]member, len(group))
	for i, rec := range group {
		m := member{id: rec.ID}
		for k, v := range rec.Fields {
			if strings.TrimSpace(v) != "" && !r.meta(k) {
				m.filled++
			}
		}
		m.created, m.hasCreated = parseTime(first(rec.Fields, r.created))
		m.updated, m.hasUpdated = parseTime(first(rec.Fields, r.updated))
		m.source = strings.TrimSpace(first(rec.Fields, r.source))
		out[i] = m
	}
	return out
}

// first is the first non-empty value among names.
func first(fields map[string]string, names []string) string {
	for _, n := range names {
		if v := strings.TrimSpace(fields[n]); v != "" {
			return v
		}
	}
	return ""
}

// compare orders two members by one tie-breaker: negative when a makes the
// better survivor, positive when b does, 0 on a tie.
func (t tieBreaker) compare(a, b member) int {
	switch t.by {
	case ByMostComplete:
		return b.filled - a.filled
	case ByOldest:
		return compareTimes(a.created, a.hasCreated, b.created, b.hasCreated)
	case ByMostRecent:
		return -compareRecent(a, b)
	case BySource:
		return t.sourceRank(a.source) - t.sourceRank(b.source)
	}
	return 0
}

func (t tieBreaker) sourceRank(s string) int {
	for i, name := range t.sources {
		if strings.EqualFold(s, name) {
			return i
		}
	}
	return len(t.sources)
}

// compareTimes orders known times before unknown ones, earlier first.
func compareTimes(a time.Time, hasA bool, b time.Time, hasB bool) int {
	switch {
	case hasA && hasB:
		return a.Compare(b)
	case hasA:
		return -1
	case hasB:
		return 1
	}
	return 0
}

// compareRecent is positive when a was updated after b: a record without
// an updated time is older than any with one.
func compareRecent(a, b member) int {
	switch {
	case a.hasUpdated && b.hasUpdated:
		return a.updated.Compare(b.updated)
	case a.hasUpdated:
		return 1
	case b.hasUpdated:
		return -1
	}
	return 0
}

// better reports which of a and b makes the better survivor (negative: a)
// and the tie-breaker that decided ("" for the id).
func (r *Rules) better(a, b member) (int, string) {
	for _, t := range r.survivor {
		if c := t.compare(a, b); c != 0 {
			return c, t.String()
		}
	}
	return CompareIDs(a.id, b.id), ""
}

// Survivor returns the index in group of the record that survives: the
// best by the survivor tie-breakers, then the lowest id. It is -1 for an
// empty group.
func (r *Rules) Survivor(group []Record) int {
	ms := r.members(group)
	best := -1
	for i := range ms {
		if best < 0 {
			best = i
			continue
		}
		if c, _ := r.better(ms[i], ms[best]); c < 0 {
			best = i
		}
	}
	return best
}

// Explain says in words why group[s] survives: for every other member, the
// tie-breaker that put s first. The detector puts it in the merge's reason.
func (r *Rules) Explain(group []Record, s int) string {
	if s < 0 || s >= len(group) {
		return ""
	}
	ms := r.members(group)
	var parts []string
	for i, m := range ms {
		if i == s {
			continue
		}
		_, by := r.better(ms[s], m)
		parts = append(parts, fmt.Sprintf("over %s by %s", m.id, r.because(by, ms[s], m)))
	}
	if len(parts) == 0 {
		return group[s].ID + " survives alone"
	}
	return group[s].ID + " survives " + strings.Join(parts, ", ")
}

func (r *Rules) because(by string, s, o member) string {
	when := func(t time.Time, ok bool) string {
		if !ok {
			return "unknown"
		}
		return t.UTC().Format(time.RFC3339)
	}
	switch {
	case by == ByMostComplete:
		return fmt.Sprintf("most_complete (%d fields filled to %d)", s.filled, o.filled)
	case by == ByOldest:
		return fmt.Sprintf("oldest (created %s, %s)", when(s.created, s.hasCreated), when(o.created, o.hasCreated))
	case by == ByMostRecent:
		return fmt.Sprintf("most_recent (updated %s, %s)", when(s.updated, s.hasUpdated), when(o.updated, o.hasUpdated))
	case strings.HasPrefix(by, BySource):
		return fmt.Sprintf("%s (source %q, %q)", by, s.source, o.source)
	}
	return "the lower id (every rule tied)"
}

// Values returns, for the survivor group[s], each field whose value should
// change so that it ends with the value the rules chose, sorted by field.
// It never returns a value equal to the survivor's, an empty value, or a
// field no rule may set (see the package comment). Give it the records'
// fields as the merge snapshots hold them (every field).
func (r *Rules) Values(group []Record, s int) []Value {
	if s < 0 || s >= len(group) {
		return nil
	}
	ms := r.members(group)
	names := map[string]bool{}
	for _, rec := range group {
		for k, v := range rec.Fields {
			if strings.TrimSpace(v) != "" {
				names[k] = true
			}
		}
	}
	var fields []string
	for f := range names {
		if !r.meta(f) && batch.ValidField(f) {
			fields = append(fields, f)
		}
	}
	sort.Strings(fields)
	var out []Value
	for _, f := range fields {
		rule := r.rule(f)
		from := r.choose(rule, group, ms, s, f)
		if from < 0 || from == s {
			continue
		}
		before, after := group[s].Fields[f], group[from].Fields[f]
		if after == before {
			continue
		}
		out = append(out, Value{Field: f, Before: before, After: after, From: group[from].ID, Rule: rule})
	}
	return out
}

// rule is the value rule of field f.
func (r *Rules) rule(f string) string {
	if rule, ok := r.fields[f]; ok {
		return rule
	}
	return r.values
}

// choose returns the index of the record whose value of f the survivor s
// should end with, or -1 for none.
func (r *Rules) choose(rule string, group []Record, ms []member, s int, f string) int {
	has := func(i int) bool { return strings.TrimSpace(group[i].Fields[f]) != "" }
	// candidates: the survivor first, then the others in group order.
	order := make([]int, 0, len(group))
	order = append(order, s)
	for i := range group {
		if i != s {
			order = append(order, i)
		}
	}
	best := -1
	switch rule {
	case KeepSurvivor:
		return s
	case FillEmpty:
		if has(s) {
			return s
		}
		for _, i := range order {
			if has(i) {
				return i
			}
		}
	case MostRecent:
		for _, i := range order {
			if !has(i) {
				continue
			}
			if best < 0 || compareRecent(ms[i], ms[best]) > 0 {
				best = i
			}
		}
	case MostComplete:
		score := -1
		for _, i := range order {
			if !has(i) {
				continue
			}
			if n := informative(group[i].Fields[f]); n > score {
				best, score = i, n
			}
		}
	}
	return best
}

// informative counts the letters and digits of a value: how much it says.
func informative(v string) int {
	n := 0
	for _, c := range v {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			n++
		}
	}
	return n
}

// meta reports a field that describes the record rather than what it
// stands for: never counted as data, never given a value.
func (r *Rules) meta(f string) bool {
	return neverSet(f) || slices.Contains(r.created, f) || slices.Contains(r.updated, f) || slices.Contains(r.source, f)
}

// neverSet reports the fields no configuration may have a value rule
// propose: record ids, merge bookkeeping, Salesforce's system fields (set
// by Salesforce alone, and read-only to its API) and crmops' own fields.
func neverSet(f string) bool {
	switch strings.ToLower(f) {
	case "id", "hs_object_id", "hs_merged_object_ids", "merged_into":
		return true
	case "masterrecordid", "isdeleted", "systemmodstamp", "createdbyid", "lastmodifiedbyid",
		"lastactivitydate", "lastvieweddate", "lastreferenceddate":
		return true
	}
	return strings.HasPrefix(strings.ToLower(f), "crmops")
}

// timeLayouts are the timestamp forms read, in order: RFC 3339 (the
// embedded CRM, HubSpot's API), Salesforce's (2024-01-31T12:00:00.000+0000:
// an offset without a colon), then the forms spreadsheets export.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// parseTime reads a timestamp; a number is Unix time in milliseconds (as
// HubSpot exports some) when it has more than ten digits, else in seconds.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if len(s) > 10 {
			return time.UnixMilli(n).UTC(), true
		}
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}

// CompareIDs orders record ids numeric-aware: runs of digits compare as
// numbers ("C-9" before "C-10", "99" before "100"), the rest as text, and
// ids equal that way (leading zeros) by their bytes, so the order is total.
func CompareIDs(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return cmpInt(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if a[i] != b[j] {
			return cmpInt(int(a[i]), int(b[j]))
		}
		i++
		j++
	}
	if c := cmpInt(len(a)-i, len(b)-j); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
