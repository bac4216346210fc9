// Package lifecycle proposes lifecycle stage changes from two kinds of
// signal: events (a demo booked, a contract signed), which say a record
// reached a stage, and scores from a model, which say how far a record
// qualifies. Stages are ordered (HubSpot's by default); a change to the
// record's current stage is never proposed.
//
// Events. Each event name maps to a stage; for a record the latest mapped
// event (by time, then by line) decides, and it is proposed with trigger
// "event" and the configured confidence (default 1), which the default
// policy applies automatically (rule lifecycle-single-event).
//
// Backward moves. The latest event may name an earlier stage than the
// record holds (a customer who unsubscribes maps to subscriber, say). That
// is still proposed, so the event is not lost, but never as a plain event:
// its reason starts "moves backwards: customer → subscriber;", its
// confidence is capped at 0.5, and its trigger is "rule", because what
// proposes it is this detector's rule that the latest event wins, not an
// event that a stage was reached. No policy rule about trigger "event"
// therefore applies it, and the default policy, which has no lifecycle rule
// for trigger "rule", sends it to review (its default). A policy that wants
// to treat backward moves specially matches kind lifecycle, trigger rule.
//
// Scores. A score is a number from 0 to 100 (not 0..1: multiply
// probabilities by 100). Thresholds give each stage its minimum score and
// must rise with the stage order; a score qualifies for the furthest stage
// whose minimum it reaches. Scores only move records forward: a score
// below a customer's stage says the model would not have qualified them,
// not that they stopped being a customer. A score is proposed with trigger
// "score" (review under the default policy, rule lifecycle-ai-score) and a
// confidence from how far past the threshold it is:
//
//	confidence = 0.5 + 0.5 × (score − threshold) / (100 − threshold)
//
// so a score just at its threshold is a coin flip (0.5) and a perfect 100 is
// 1; it is rounded to two decimals.
//
// Events and scores together. An event that moves a record decides for it;
// a score speaks only for records no event moves (a fact observed beats a
// prediction, and one record gets at most one change per run).
//
// Memory and time: one small entry per record named in the inputs (the
// latest event, the score); the CRM is read only for those records, by id,
// in chunks, while the inputs are still being read. Changes come in the
// order their records first appear in the inputs, events first.
package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/table"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Name is the detector's name in crmops.yaml and in batch files.
const Name = "lifecycle"

// Defaults for unset settings.
const (
	DefaultObject          = "contacts"
	DefaultField           = "lifecyclestage"
	DefaultEventSource     = "events"
	DefaultEventConfidence = 1.0
	// BackwardConfidence caps the confidence of a move backwards.
	BackwardConfidence = 0.5
)

// DefaultStages are HubSpot's lifecycle stages in order.
var DefaultStages = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}

// Settings are the detector's keys under detectors.lifecycle in
// crmops.yaml; at least one of events and scores is required:
//
//	lifecycle:
//	  object: contacts                 # default contacts
//	  field: lifecyclestage            # default lifecyclestage
//	  stages: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead,
//	           opportunity, customer, evangelist, other]   # the default
//	  events:
//	    input: data/events.jsonl       # {"record": "1001", "event": "demo_booked", "time": "2026-11-20T10:00:00Z"}
//	    map: {demo_booked: salesqualifiedlead, contract_signed: customer}
//	    source: segment                # default events
//	    confidence: 1                  # default 1
//	  scores:
//	    input: data/scores.csv         # columns record,score; score 0..100
//	    thresholds: {marketingqualifiedlead: 60, salesqualifiedlead: 80}
//	    source: lead-model-v3          # required: the model's name
type Settings struct {
	// Object is the CRM object whose stage is proposed. Default contacts
	// (Salesforce: Lead).
	Object string `yaml:"object"`
	// Field is the CRM field holding the stage. Default lifecyclestage
	// (Salesforce: Status, with its stages).
	Field string `yaml:"field"`
	// Stages lists the stages in order, earliest first; "backwards" means
	// earlier in this list. Default: HubSpot's (DefaultStages). Stage values
	// are compared ignoring case.
	Stages []string `yaml:"stages"`
	// Events configures the event signal.
	Events *EventSettings `yaml:"events"`
	// Scores configures the score signal.
	Scores *ScoreSettings `yaml:"scores"`

	Pos strictyaml.Pos `yaml:"-"`
}

// EventSettings are the keys under detectors.lifecycle.events.
type EventSettings struct {
	// Input is a JSON-lines file, one event per line:
	// {"record": "1001", "event": "demo_booked", "time": "2026-11-20T10:00:00Z"}.
	// record may be a string or a number; time is RFC 3339. Other keys are
	// ignored.
	Input string `yaml:"input" strict:"required"`
	// Map gives the stage each event name means; events not in it are
	// ignored (and counted in one problem per name).
	Map map[string]string `yaml:"map" strict:"required"`
	// Source is recorded on the changes; default "events".
	Source string `yaml:"source"`
	// Confidence of an event's forward move, 0..1; default 1.
	Confidence float64 `yaml:"confidence"`

	Pos strictyaml.Pos `yaml:"-"`
}

// ScoreSettings are the keys under detectors.lifecycle.scores.
type ScoreSettings struct {
	// Input is a CSV file with columns record and score (0..100).
	Input string `yaml:"input" strict:"required"`
	// Thresholds gives stages their minimum score; they must rise with the
	// stage order.
	Thresholds map[string]float64 `yaml:"thresholds" strict:"required"`
	// Source names the model, recorded on the changes.
	Source string `yaml:"source" strict:"required"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Detector proposes lifecycle stages from events and scores.
type Detector struct {
	file       string // crmops.yaml, for errors about the settings
	s          Settings
	stageIndex map[string]int      // lower-cased stage -> position
	events     map[string]eventDef // event name -> its stage
	thresholds []threshold         // ascending
}

// eventDef is a mapped event: its name (kept once, shared by every signal
// naming it) and its stage.
type eventDef struct {
	name  string
	stage int
}

type threshold struct {
	stage int
	min   float64
}

// New decodes and checks the detector's settings from file (crmops.yaml).
func New(file string, settings *yaml.Node) (detect.Detector, error) {
	var s Settings
	if err := detect.DecodeSettings(file, Name, settings, &s); err != nil {
		return nil, err
	}
	bad := func(p strictyaml.Pos, key, format string, args ...any) error {
		return p.Errorf(file, key, format, args...)
	}
	if s.Object == "" {
		s.Object = DefaultObject
	}
	if !batch.ValidObject(s.Object) {
		return nil, bad(s.Pos, "object", "%q is not an object name (letters, digits, _)", s.Object)
	}
	if s.Field == "" {
		s.Field = DefaultField
	}
	if !batch.ValidField(s.Field) || strings.EqualFold(s.Field, "id") {
		return nil, bad(s.Pos, "field", "%q is not a CRM field name", s.Field)
	}
	if s.Stages == nil {
		// A copy: the loop below normalizes stages in place, and detectors
		// built at the same time must not write the shared defaults.
		s.Stages = slices.Clone(DefaultStages)
	}
	d := &Detector{file: file, stageIndex: map[string]int{}, events: map[string]eventDef{}}
	if len(s.Stages) < 2 {
		return nil, bad(s.Pos, "stages", "list at least two stages, earliest first")
	}
	for i, st := range s.Stages {
		k := strings.ToLower(strings.TrimSpace(st))
		if k == "" {
			return nil, bad(s.Pos, "stages", "stage %d is empty", i+1)
		}
		if _, dup := d.stageIndex[k]; dup {
			return nil, bad(s.Pos, "stages", "stage %q is listed twice", st)
		}
		d.stageIndex[k] = i
		s.Stages[i] = strings.TrimSpace(st)
	}
	stageList := strings.Join(s.Stages, ", ")
	if s.Events == nil && s.Scores == nil {
		return nil, bad(s.Pos, "", "configure events, scores or both")
	}
	if e := s.Events; e != nil {
		if strings.TrimSpace(e.Input) == "" {
			return nil, bad(e.Pos, "input", "must name a JSON-lines file")
		}
		if len(e.Map) == 0 {
			return nil, bad(e.Pos, "map", "map at least one event name to a stage")
		}
		for _, ev := range sortedKeys(e.Map) {
			i, ok := d.stageIndex[strings.ToLower(strings.TrimSpace(e.Map[ev]))]
			if !ok {
				return nil, &strictyaml.Error{File: file, Line: e.Pos.KeyLine("map"), Key: e.Pos.KeyPath("map") + "." + ev,
					Msg: fmt.Sprintf("%q is not one of the stages (%s)", e.Map[ev], stageList)}
			}
			d.events[ev] = eventDef{name: ev, stage: i}
		}
		if e.Source == "" {
			e.Source = DefaultEventSource
		}
		if !e.Pos.Has("confidence") {
			e.Confidence = DefaultEventConfidence
		}
		if e.Confidence < 0 || e.Confidence > 1 {
			return nil, bad(e.Pos, "confidence", "%v is outside 0..1", e.Confidence)
		}
	}
	if sc := s.Scores; sc != nil {
		if strings.TrimSpace(sc.Input) == "" {
			return nil, bad(sc.Pos, "input", "must name a CSV file")
		}
		if strings.TrimSpace(sc.Source) == "" {
			return nil, bad(sc.Pos, "source", "must name the model the scores come from")
		}
		if len(sc.Thresholds) == 0 {
			return nil, bad(sc.Pos, "thresholds", "give at least one stage its minimum score")
		}
		for _, st := range sortedKeys(sc.Thresholds) {
			where := &strictyaml.Error{File: file, Line: sc.Pos.KeyLine("thresholds"), Key: sc.Pos.KeyPath("thresholds") + "." + st}
			i, ok := d.stageIndex[strings.ToLower(strings.TrimSpace(st))]
			floor := sc.Thresholds[st]
			switch {
			case !ok:
				where.Msg = fmt.Sprintf("%q is not one of the stages (%s)", st, stageList)
			case floor < 0 || floor > 100 || floor != floor:
				where.Msg = fmt.Sprintf("%v is outside 0..100 (scores are 0..100)", floor)
			default:
				d.thresholds = append(d.thresholds, threshold{stage: i, min: floor})
				continue
			}
			return nil, where
		}
		sort.Slice(d.thresholds, func(i, j int) bool { return d.thresholds[i].stage < d.thresholds[j].stage })
		for i := 1; i < len(d.thresholds); i++ {
			if a, b := d.thresholds[i-1], d.thresholds[i]; b.min <= a.min {
				return nil, bad(sc.Pos, "thresholds", "%s (%v) comes after %s in the stages but does not need a higher score than its %v",
					s.Stages[b.stage], b.min, s.Stages[a.stage], a.min)
			}
		}
	}
	d.s = s
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// signal is the latest event and the score known for one record.
type signal struct {
	id         string
	event      string // "" when no mapped event names the record
	eventStage int
	eventTime  time.Time
	eventLine  int
	hasScore   bool
	score      float64
	scoreLine  int
}

// progressEvery is how many lines pass between progress reports (and
// context checks).
const progressEvery = 10_000

// getChunk is how many records one Get asks for.
const getChunk = 1000

// Detect reads the events and scores, and meanwhile the stages of the
// records they name, then proposes the moves, in the order the records
// first appear in the inputs (events first).
func (d *Detector) Detect(ctx context.Context, env detect.Env) (*detect.Result, error) {
	res := &detect.Result{}
	signals := map[string]*signal{}
	var slab []signal // signals are allocated a few thousand at a time
	f := d.startFetch(ctx, env)
	named := func(id string) *signal {
		sig := signals[id]
		if sig == nil {
			if len(slab) == 0 {
				slab = make([]signal, 4096)
			}
			sig, slab = &slab[0], slab[1:]
			sig.id = strings.Clone(id)
			signals[sig.id] = sig
			f.add(sig)
		}
		return sig
	}
	var err error
	if d.s.Events != nil {
		err = d.readEvents(ctx, env, named, res)
	}
	if err == nil && d.s.Scores != nil {
		err = d.readScores(ctx, env, named, res)
	}
	if ferr := f.finish(env.Progress, Name+": "+d.s.Object); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	// Each batch's changes are gathered apart and copied once into a slice
	// of the right size: appending a million changes to one slice would
	// copy it again and again as it grows.
	perBatch := make([][]batch.Change, len(f.batches))
	total := 0
	for j, b := range f.batches {
		for i, sig := range b.signals {
			rec := b.records[i]
			switch {
			case !rec.found:
				d.skipRecord(res, sig, "no %s record %s", d.s.Object, sig.id)
			case rec.mergedInto != "":
				d.skipRecord(res, sig, "%s record %s was merged into %s; use the survivor's id", d.s.Object, sig.id, rec.mergedInto)
			default:
				if c, ok, why := d.decide(sig.id, rec.current, sig); why != "" {
					d.skipRecord(res, sig, "%s", why)
				} else if ok {
					perBatch[j] = append(perBatch[j], c)
				}
			}
		}
		total += len(perBatch[j])
	}
	res.Changes = make([]batch.Change, 0, total)
	for _, cs := range perBatch {
		res.Changes = append(res.Changes, cs...)
	}
	sort.SliceStable(res.Skipped, func(i, j int) bool {
		a, b := res.Skipped[i], res.Skipped[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res, nil
}

// fetcher reads the current stage of records while the inputs are still
// being read: the CRM and the files are the two slow halves of a run, and
// they need not wait for each other.
type fetcher struct {
	next    []*signal
	ch      chan *fetchBatch
	done    chan struct{}
	batches []*fetchBatch // in the order sent; complete after done
	err     error
	read    atomic.Int64 // records read so far, for progress
}

// fetchBatch is one Get: the signals it is for and, once read, their
// records. The fetching goroutine reads only the signals' ids, which never
// change, and writes only records.
type fetchBatch struct {
	signals []*signal
	records []fetched
}

type fetched struct {
	found      bool
	current    string
	mergedInto string
}

func (d *Detector) startFetch(ctx context.Context, env detect.Env) *fetcher {
	f := &fetcher{ch: make(chan *fetchBatch, 8), done: make(chan struct{})}
	fields := []string{d.s.Field}
	// Each Get is short, so it runs without the run's cancellation and the
	// context is checked between them instead: the SQLite driver watches a
	// cancellable context with a goroutine per query, and a thousand such
	// goroutines competing for two cores cost more than the reads.
	getCtx := context.WithoutCancel(ctx)
	go func() {
		defer close(f.done)
		ids := make([]string, 0, getChunk)
		for b := range f.ch {
			f.batches = append(f.batches, b)
			if f.err == nil {
				f.err = ctx.Err()
			}
			if f.err != nil {
				continue // drain, so the reader never blocks
			}
			ids = ids[:0]
			for _, sig := range b.signals {
				ids = append(ids, sig.id)
			}
			recs, err := env.CRM.Get(getCtx, d.s.Object, ids, fields)
			if err != nil {
				f.err = err
				continue
			}
			b.records = make([]fetched, len(ids))
			for i, id := range ids {
				if rec, ok := recs[id]; ok {
					b.records[i] = fetched{found: true, current: rec.Fields[d.s.Field], mergedInto: rec.MergedInto}
				}
			}
			f.read.Add(int64(len(ids)))
		}
	}()
	return f
}

// add queues a newly named record for reading.
func (f *fetcher) add(sig *signal) {
	f.next = append(f.next, sig)
	if len(f.next) == getChunk {
		f.ch <- &fetchBatch{signals: f.next}
		f.next = make([]*signal, 0, getChunk)
	}
}

// finish sends the last records and waits until every one is read,
// reporting progress meanwhile (from the caller's goroutine: a Progress
// need not be safe for concurrent use).
func (f *fetcher) finish(progress detect.Progress, stage string) error {
	if len(f.next) > 0 {
		f.ch <- &fetchBatch{signals: f.next}
	}
	close(f.ch)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.done:
			return f.err
		case <-tick.C:
			progress.Step(stage, int(f.read.Load()), 0)
		}
	}
}

// skipRecord reports a problem with a record at the input line that named
// it: its latest event, else its score.
func (d *Detector) skipRecord(res *detect.Result, sig *signal, format string, args ...any) {
	p := detect.Problem{Reason: fmt.Sprintf(format, args...)}
	if sig.event != "" {
		p.File, p.Line = d.s.Events.Input, sig.eventLine
	} else {
		p.File, p.Line = d.s.Scores.Input, sig.scoreLine
	}
	res.Skipped = append(res.Skipped, p)
}

// decide returns the change a record's signals propose (ok false: none),
// or why the record cannot be judged. Reasons are built by concatenation:
// a million of them through fmt would cost a second.
func (d *Detector) decide(id, current string, sig *signal) (c batch.Change, ok bool, why string) {
	cur := -1 // empty: every stage is forward
	if t := strings.TrimSpace(current); t != "" {
		i, known := d.stageIndex[strings.ToLower(t)]
		if !known {
			return c, false, fmt.Sprintf("%s/%s has %s %q, which is not one of the stages; cannot tell forward from backward", d.s.Object, id, d.s.Field, current)
		}
		cur = i
	}
	holds := func() string {
		if cur < 0 {
			return d.s.Field + " is empty in the CRM"
		}
		return "the CRM has " + current
	}
	c = batch.Change{Kind: "lifecycle", Object: d.s.Object, Record: id, Op: batch.OpSet, Field: d.s.Field, Before: current}
	if sig.event != "" && sig.eventStage != cur {
		e := d.s.Events
		c.After, c.Source = d.s.Stages[sig.eventStage], e.Source
		what := "event " + sig.event + " at " + sig.eventTime.Format(time.RFC3339) +
			" (" + e.Input + ":" + strconv.Itoa(sig.eventLine) + ") maps to " + c.After
		if sig.eventStage > cur {
			c.Trigger, c.Confidence = "event", e.Confidence
			c.Reason = what + "; " + holds()
		} else {
			c.Trigger, c.Confidence = "rule", math.Min(e.Confidence, BackwardConfidence)
			c.Reason = "moves backwards: " + d.s.Stages[cur] + " → " + c.After + "; " + what + ", and the latest event decides"
		}
		return c, true, ""
	}
	if sig.hasScore {
		t, reached := d.qualifies(sig.score)
		if !reached || t.stage <= cur {
			return c, false, ""
		}
		sc := d.s.Scores
		c.After, c.Source, c.Trigger = d.s.Stages[t.stage], sc.Source, "score"
		c.Confidence = scoreConfidence(sig.score, t.min)
		c.Reason = "score " + fmtScore(sig.score) + " (" + sc.Input + ":" + strconv.Itoa(sig.scoreLine) + ") reaches " +
			c.After + " (threshold " + fmtScore(t.min) + "); " + holds()
		return c, true, ""
	}
	return c, false, ""
}

// qualifies returns the furthest stage whose threshold score reaches.
func (d *Detector) qualifies(score float64) (threshold, bool) {
	for i := len(d.thresholds) - 1; i >= 0; i-- {
		if score >= d.thresholds[i].min {
			return d.thresholds[i], true
		}
	}
	return threshold{}, false
}

// scoreConfidence is 0.5 at the threshold rising linearly to 1 at 100,
// rounded to two decimals.
func scoreConfidence(score, floor float64) float64 {
	if floor >= 100 {
		return 1
	}
	c := 0.5 + 0.5*(score-floor)/(100-floor)
	return math.Round(math.Min(c, 1)*100) / 100
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// readEvents keeps, for each record, its latest mapped event.
func (d *Detector) readEvents(ctx context.Context, env detect.Env, named func(id string) *signal, res *detect.Result) error {
	e := d.s.Events
	f, err := env.OpenInput(d.file, e.Pos, "input", e.Input)
	if err != nil {
		return err
	}
	defer f.Close()
	skip := func(line int, format string, args ...any) {
		res.Skipped = append(res.Skipped, detect.Problem{File: e.Input, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	type unmapped struct{ first, count int }
	ignored := map[string]*unmapped{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	stage := Name + ": " + e.Input
	line := 0
	for sc.Scan() {
		if line++; line%progressEvery == 0 {
			env.Progress.Step(stage, line, 0)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := parseEvent(b)
		switch {
		case err != nil:
			skip(line, "not a JSON object: %v", jsonErr(err))
			continue
		case !ev.recordOK:
			skip(line, "record %s is not an id (a string or a whole number)", ev.record)
			continue
		case ev.record == "":
			skip(line, "no record")
			continue
		case ev.name == "":
			skip(line, "no event")
			continue
		case ev.time == "":
			skip(line, "no time")
			continue
		}
		def, ok := d.events[ev.name]
		if !ok {
			if u := ignored[ev.name]; u != nil {
				u.count++
			} else {
				ignored[ev.name] = &unmapped{first: line, count: 1}
			}
			continue
		}
		at, err := time.Parse(time.RFC3339, ev.time)
		if err != nil {
			skip(line, "time %q is not RFC 3339 (like 2026-11-20T10:00:00Z)", ev.time)
			continue
		}
		sig := named(ev.record)
		// Latest wins; at the same time, the later line.
		if sig.event == "" || !at.Before(sig.eventTime) {
			sig.event, sig.eventStage, sig.eventTime, sig.eventLine = def.name, def.stage, at, line
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", e.Input, line+1, err)
	}
	for name, u := range ignored {
		skip(u.first, "event %q is not in events.map; %d line(s) with it ignored", name, u.count)
	}
	return nil
}

// readScores records each record's score; the first row for a record wins.
func (d *Detector) readScores(ctx context.Context, env detect.Env, named func(id string) *signal, res *detect.Result) error {
	sc := d.s.Scores
	f, err := env.OpenInput(d.file, sc.Pos, "input", sc.Input)
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := table.Open(sc.Input, f)
	if err != nil {
		return err
	}
	recCol, err := t.Column("record")
	if err != nil {
		return err
	}
	scoreCol, err := t.Column("score")
	if err != nil {
		return err
	}
	skip := func(line int, format string, args ...any) {
		res.Skipped = append(res.Skipped, detect.Problem{File: sc.Input, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	stage := Name + ": " + sc.Input
	for n := 1; ; n++ {
		if n%progressEvery == 0 {
			env.Progress.Step(stage, n, 0)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, row, why, err := t.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if why != "" {
			skip(line, "%s", why)
			continue
		}
		id, raw := strings.TrimSpace(row[recCol]), strings.TrimSpace(row[scoreCol])
		switch {
		case id == "":
			skip(line, "no record")
			continue
		case strings.ContainsAny(id, "/\r\n"):
			skip(line, "malformed record id %q", id)
			continue
		case raw == "":
			skip(line, "no score for record %s", id)
			continue
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < 0 || v > 100 || v != v {
			skip(line, "score %q is not a number from 0 to 100", raw)
			continue
		}
		sig := named(id)
		if sig.hasScore {
			skip(line, "record %s already has a score on line %d; only line %d is used", id, sig.scoreLine, sig.scoreLine)
			continue
		}
		sig.hasScore, sig.score, sig.scoreLine = true, v, line
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonErr shortens encoding/json's messages for a problem line.
func jsonErr(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}
