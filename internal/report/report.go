// Package report tells what the loop did over a period, from the base
// branch alone (plus the forge's open proposals): how many changes were
// proposed and how each ended (auto, approved, rejected, stale, failed,
// skipped, refused or still pending) per ISO week, detector, rule and
// kind; how long approvals took; why batches were rejected; and how often
// a blast-radius limit held auto changes for review.
//
// Load reads the repository, Build counts, and Markdown, HTML and the
// Report's JSON encoding render the same numbers. Everything is sorted and
// the clock is passed in, so one history always gives one report.
package report

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/batch"
)

// Outcome is how a proposed change ended, or that it has not yet.
type Outcome string

// Outcomes of a change. A change applied (or found already applied) counts
// as the decision that let it run, auto or approved; a change that did not
// run counts as why not.
const (
	Auto     Outcome = "auto"     // applied under an auto decision
	Approved Outcome = "approved" // applied after a person's approval
	Rejected Outcome = "rejected" // its batch was rejected
	Stale    Outcome = "stale"    // the CRM no longer held its before value
	Failed   Outcome = "failed"   // the CRM refused it
	Skipped  Outcome = "skipped"  // apply did not run it (e.g. its merge did not run)
	Refused  Outcome = "refused"  // its batch reached the base branch without approval evidence
	Pending  Outcome = "pending"  // open for review, or merged and not yet applied
)

// Outcomes lists every outcome in the order tables and charts show them.
var Outcomes = []Outcome{Auto, Approved, Rejected, Stale, Failed, Skipped, Refused, Pending}

// Counts are the batches and changes of a group and how the changes ended.
type Counts struct {
	Batches  int `json:"batches"`
	Proposed int `json:"proposed"` // changes
	Auto     int `json:"auto"`
	Approved int `json:"approved"`
	Rejected int `json:"rejected"`
	Stale    int `json:"stale"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
	Refused  int `json:"refused"`
	Pending  int `json:"pending"`
}

// Of returns the changes that ended as o.
func (c Counts) Of(o Outcome) int { return *c.slot(o) }

func (c *Counts) slot(o Outcome) *int {
	switch o {
	case Auto:
		return &c.Auto
	case Approved:
		return &c.Approved
	case Rejected:
		return &c.Rejected
	case Stale:
		return &c.Stale
	case Failed:
		return &c.Failed
	case Skipped:
		return &c.Skipped
	case Refused:
		return &c.Refused
	}
	return &c.Pending
}

func (c *Counts) addChange(o Outcome) {
	c.Proposed++
	*c.slot(o)++
}

// Row is one group of a table: a detector, a rule or a kind.
type Row struct {
	Name string `json:"name"`
	Counts
}

// Week is one ISO week (Monday to Sunday, UTC) of batch creation.
type Week struct {
	Week  string `json:"week"`  // 2026-W48
	Start string `json:"start"` // its Monday, 2026-11-23
	Counts
}

// Approval is the time from a batch's proposal (its created time) to its
// first approval (the earliest approver's time in its receipt), over the
// batches applied after a person's approval.
type Approval struct {
	Batches       int    `json:"batches"`
	MedianSeconds int64  `json:"median_seconds"`
	P90Seconds    int64  `json:"p90_seconds"`
	MinSeconds    int64  `json:"min_seconds"`
	MaxSeconds    int64  `json:"max_seconds"`
	Median        string `json:"median"` // for people: 3h 20m
	P90           string `json:"p90"`
}

// Reason is one rejection reason and how often it was given.
type Reason struct {
	Reason  string `json:"reason"` // "" when none was given
	Batches int    `json:"batches"`
	Changes int    `json:"changes"`
}

// Rejections sums the rejection records.
type Rejections struct {
	Batches int      `json:"batches"`
	Changes int      `json:"changes"`
	Reasons []Reason `json:"reasons"` // most given first
}

// Limit is one limit and the batches it held for review.
type Limit struct {
	Limit   string `json:"limit"`
	Batches int    `json:"batches"`
	Changes int    `json:"changes"`
}

// Held is one batch a limit (or its own review key) held for review.
type Held struct {
	Batch   string    `json:"batch"`
	Created time.Time `json:"created"`
	Limits  []string  `json:"limits"`
	Changes int       `json:"changes"`
	// Review is the batch's review key, "" when only its receipt's rules
	// name the limit.
	Review string `json:"review"`
}

// Limits sums the blast-radius limit hits: batches with a review key (set
// when a run's limit sent auto changes to review) or whose recorded rules
// name a limit.
type Limits struct {
	Batches int     `json:"batches"`
	Changes int     `json:"changes"`
	ByLimit []Limit `json:"by_limit"`
	Held    []Held  `json:"held"` // newest first
}

// PendingWork is what has not ended yet.
type PendingWork struct {
	OpenBatches      int `json:"open_batches"`
	OpenChanges      int `json:"open_changes"`
	UnappliedBatches int `json:"unapplied_batches"` // merged, with no or an incomplete receipt
	UnappliedChanges int `json:"unapplied_changes"`
}

// Report is what the loop did over a period. Its JSON encoding is the
// machine output of crmops report --json.
type Report struct {
	Generated time.Time `json:"generated"`
	// Since is the start of the period (batches created at or after it);
	// nil for the whole history.
	Since    *time.Time `json:"since"`
	Branch   string     `json:"branch"`
	Base     string     `json:"base"` // the base branch's commit
	Outcomes []Outcome  `json:"outcomes"`
	Totals   Counts     `json:"totals"`
	// Weeks runs from the period's first week (the first batch's, or
	// since's) to the last batch's or the report's, whichever is later,
	// with no week left out.
	Weeks          []Week      `json:"weeks"`
	Detectors      []Row       `json:"detectors"`
	Rules          []Row       `json:"rules"`
	Kinds          []Row       `json:"kinds"`
	TimeToApproval Approval    `json:"time_to_approval"`
	Rejections     Rejections  `json:"rejections"`
	Limits         Limits      `json:"limits"`
	Pending        PendingWork `json:"pending"`
	// Unread lists the files the report could not read, and why: they are
	// counted nowhere.
	Unread []Problem `json:"unread"`
}

// Options are what Build needs besides the history.
type Options struct {
	Now    time.Time
	Since  time.Time // zero: the whole history
	Branch string
	Base   string
}

// Labels for groups a record does not name.
const (
	NotRecorded = "(not recorded)"
	NoRule      = "(none recorded)"
)

// limitPattern finds limit names: the policy's limits.<name> (what propose
// and the policy write) and limit:<name>.
var limitPattern = regexp.MustCompile(`\blimits?[.:][A-Za-z0-9_-]+`)

// Build counts the history's entries created in the period.
func Build(h *History, opts Options) *Report {
	r := &Report{
		Generated: opts.Now.UTC(), Branch: opts.Branch, Base: opts.Base,
		Outcomes: Outcomes, Unread: append([]Problem{}, h.Problems...),
	}
	if !opts.Since.IsZero() {
		s := opts.Since.UTC()
		r.Since = &s
	}
	detectorOf := detectorNames(h.Entries)
	weeks := map[string]*Week{}
	detectors, rules, kinds := map[string]*Row{}, map[string]*Row{}, map[string]*Row{}
	reasons := map[string]*Reason{}
	limits := map[string]*Limit{}
	var approvals []time.Duration
	var first, last time.Time

	for i := range h.Entries {
		e := &h.Entries[i]
		created := e.Created()
		if !opts.Since.IsZero() && created.Before(opts.Since) {
			continue
		}
		if first.IsZero() || created.Before(first) {
			first = created
		}
		if created.After(last) {
			last = created
		}
		changes := e.outcomes()
		week := weekOf(created)
		w := weeks[week.Week]
		if w == nil {
			w = &week
			weeks[week.Week] = w
		}
		det := row(detectors, detectorOf(e))
		var ruleRows []*Row
		for _, name := range e.Rules() {
			ruleRows = append(ruleRows, row(rules, name))
		}
		if len(ruleRows) == 0 {
			ruleRows = append(ruleRows, row(rules, NoRule))
		}
		kindRows := map[*Row]bool{}
		for _, c := range changes {
			k := row(kinds, c.kind)
			for _, counts := range append([]*Counts{&r.Totals, &w.Counts, &det.Counts, &k.Counts}, countsOf(ruleRows)...) {
				counts.addChange(c.outcome)
			}
			kindRows[k] = true
		}
		for _, counts := range append([]*Counts{&r.Totals, &w.Counts, &det.Counts}, countsOf(ruleRows)...) {
			counts.Batches++
		}
		for k := range kindRows {
			k.Batches++
		}

		switch {
		case e.Rejection != nil:
			r.Rejections.Batches++
			r.Rejections.Changes += len(changes)
			reason := strings.TrimSpace(e.Rejection.Reason)
			rs := reasons[reason]
			if rs == nil {
				rs = &Reason{Reason: reason}
				reasons[reason] = rs
			}
			rs.Batches++
			rs.Changes += len(changes)
		case e.Open:
			r.Pending.OpenBatches++
			r.Pending.OpenChanges += len(changes)
		default:
			if n := count(changes, Pending); n > 0 {
				r.Pending.UnappliedBatches++
				r.Pending.UnappliedChanges += n
			}
		}
		if d, ok := e.approvalTime(); ok {
			approvals = append(approvals, d)
		}
		if names, review := e.limits(); len(names) > 0 {
			r.Limits.Batches++
			r.Limits.Changes += len(changes)
			for _, n := range names {
				l := limits[n]
				if l == nil {
					l = &Limit{Limit: n}
					limits[n] = l
				}
				l.Batches++
				l.Changes += len(changes)
			}
			r.Limits.Held = append(r.Limits.Held, Held{Batch: e.ID, Created: created, Limits: names, Changes: len(changes), Review: review})
		}
	}

	r.Weeks = weekRange(weeks, first, last, opts)
	r.Detectors, r.Rules, r.Kinds = sortedRows(detectors), sortedRows(rules), sortedRows(kinds)
	r.TimeToApproval = approvalStats(approvals)
	r.Rejections.Reasons = make([]Reason, 0, len(reasons))
	for _, rs := range reasons {
		r.Rejections.Reasons = append(r.Rejections.Reasons, *rs)
	}
	sort.Slice(r.Rejections.Reasons, func(i, j int) bool {
		a, b := r.Rejections.Reasons[i], r.Rejections.Reasons[j]
		if a.Batches != b.Batches {
			return a.Batches > b.Batches
		}
		if a.Changes != b.Changes {
			return a.Changes > b.Changes
		}
		return a.Reason < b.Reason
	})
	r.Limits.ByLimit = make([]Limit, 0, len(limits))
	for _, l := range limits {
		r.Limits.ByLimit = append(r.Limits.ByLimit, *l)
	}
	sort.Slice(r.Limits.ByLimit, func(i, j int) bool {
		a, b := r.Limits.ByLimit[i], r.Limits.ByLimit[j]
		if a.Batches != b.Batches {
			return a.Batches > b.Batches
		}
		return a.Limit < b.Limit
	})
	sort.Slice(r.Limits.Held, func(i, j int) bool {
		a, b := r.Limits.Held[i], r.Limits.Held[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.Batch < b.Batch
	})
	if r.Limits.Held == nil {
		r.Limits.Held = []Held{}
	}
	return r
}

func row(m map[string]*Row, name string) *Row {
	r := m[name]
	if r == nil {
		r = &Row{Name: name}
		m[name] = r
	}
	return r
}

func countsOf(rows []*Row) []*Counts {
	out := make([]*Counts, len(rows))
	for i, r := range rows {
		out[i] = &r.Counts
	}
	return out
}

// sortedRows orders rows by changes proposed, then batches, most first,
// then by name.
func sortedRows(m map[string]*Row) []Row {
	out := make([]Row, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Proposed != b.Proposed {
			return a.Proposed > b.Proposed
		}
		if a.Batches != b.Batches {
			return a.Batches > b.Batches
		}
		return a.Name < b.Name
	})
	return out
}

func count(cs []changeOutcome, o Outcome) int {
	n := 0
	for _, c := range cs {
		if c.outcome == o {
			n++
		}
	}
	return n
}

// weekOf is the ISO week t falls in, UTC.
func weekOf(t time.Time) Week {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	y, w := day.ISOWeek()
	return Week{Week: fmt.Sprintf("%04d-W%02d", y, w), Start: monday.Format(time.DateOnly)}
}

// weekRange lists every week from the period's first (since's, else the
// first batch's) to the later of the last batch's and the report's, the
// weeks without batches included, so a chart shows a loop that stopped.
func weekRange(weeks map[string]*Week, first, last time.Time, opts Options) []Week {
	if len(weeks) == 0 {
		return []Week{}
	}
	if !opts.Since.IsZero() {
		first = opts.Since
	}
	if opts.Now.After(last) {
		last = opts.Now
	}
	start, _ := time.Parse(time.DateOnly, weekOf(first).Start)
	end, _ := time.Parse(time.DateOnly, weekOf(last).Start)
	var out []Week
	for d := start; !d.After(end); d = d.AddDate(0, 0, 7) {
		w := weekOf(d)
		if have := weeks[w.Week]; have != nil {
			w = *have
		}
		out = append(out, w)
	}
	return out
}

// approvalStats summarises approval times: the median (the mean of the
// two middle times when there is an even number) and the 90th percentile
// by nearest rank (the time within which 90% of the batches were
// approved).
func approvalStats(ds []time.Duration) Approval {
	a := Approval{Batches: len(ds)}
	if len(ds) == 0 {
		return a
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	n := len(ds)
	median := ds[n/2]
	if n%2 == 0 {
		median = (ds[n/2-1] + ds[n/2]) / 2
	}
	rank := (9*n + 9) / 10 // ceil(0.9 n)
	p90 := ds[rank-1]
	a.MedianSeconds, a.P90Seconds = int64(median/time.Second), int64(p90/time.Second)
	a.MinSeconds, a.MaxSeconds = int64(ds[0]/time.Second), int64(ds[n-1]/time.Second)
	a.Median, a.P90 = Duration(median), Duration(p90)
	return a
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

// Duration writes d for people, to the minute past an hour and to the
// second below one: 2d 3h, 3h 20m, 12m 5s, 40s.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	minutes, seconds := int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	parts := []struct {
		n    int
		unit string
	}{{days, "d"}, {hours, "h"}, {minutes, "m"}, {seconds, "s"}}
	for i, p := range parts {
		if p.n == 0 && i < len(parts)-1 {
			continue
		}
		s := strconv.Itoa(p.n) + p.unit
		if i+1 < len(parts) && parts[i+1].n > 0 {
			s += " " + strconv.Itoa(parts[i+1].n) + parts[i+1].unit
		}
		return s
	}
	return "0s"
}

// detectorNames returns how an entry's detector is named: as its batch
// says, or, for a rejection whose batch is gone, by the detector whose
// name gives the slug in the batch id (batch.NewID), else the slug.
func detectorNames(entries []Entry) func(*Entry) string {
	bySlug := map[string]string{}
	ambiguous := map[string]bool{}
	for _, e := range entries {
		if e.Batch == nil {
			continue
		}
		s := slugOf(batch.NewID(time.Time{}, e.Batch.Detector, nil))
		if have, ok := bySlug[s]; ok && have != e.Batch.Detector {
			ambiguous[s] = true
		}
		bySlug[s] = e.Batch.Detector
	}
	return func(e *Entry) string {
		if e.Batch != nil {
			return e.Batch.Detector
		}
		s := slugOf(e.ID)
		if name, ok := bySlug[s]; ok && !ambiguous[s] {
			return name
		}
		if s != "" {
			return s
		}
		return NotRecorded
	}
}

// slugOf returns the detector slug of an id batch.NewID made:
// <time>-<slug>-<hash>; "" for other ids.
func slugOf(id string) string {
	ts, rest, ok := strings.Cut(id, "-")
	if !ok || len(ts) != len("20060102T150405Z") {
		return ""
	}
	if _, err := time.Parse("20060102T150405Z", ts); err != nil {
		return ""
	}
	i := strings.LastIndex(rest, "-")
	if i <= 0 {
		return ""
	}
	return rest[:i]
}
