package sample

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
)

// Sources of the generated changes, as they appear in batch.Change.Source.
const (
	SourceClay       = "clay"
	SourceDedupe     = "dedupe"
	SourceEvents     = "events"
	SourceScore      = "lead-score-model"
	SourceOwnerRules = "owner-rules"
	SourceZeroBounce = "zerobounce"
)

var kindOrder = []string{"enrichment", "dedupe", "lifecycle", "owner", "email_verification"}

func (g *gen) claim(object, id string) { g.claimed[object+"/"+id] = true }

func (g *gen) add(p pendingChange) {
	g.claim(p.c.Object, p.c.Record)
	if p.c.Op == batch.OpMerge {
		g.claim(p.c.Object, p.c.MergeFrom)
	}
	g.changes = append(g.changes, p)
}

// set builds a set change on a contact; Before is the record's current value.
func (g *gen) set(kind string, rec *crm.Record, field, after, source, trigger string, confidence float64) batch.Change {
	return batch.Change{
		Kind: kind, Object: ObjectContacts, Record: rec.ID, Op: batch.OpSet,
		Field: field, Before: rec.Fields[field], After: after,
		Source: source, Confidence: confidence, Trigger: trigger,
	}
}

// pool lists, in random order, the contacts without a change and without a
// planted risky email that satisfy ok.
func (g *gen) pool(ok func(rec *crm.Record, info *contactInfo) bool) []*crm.Record {
	var out []*crm.Record
	for i := range g.contacts {
		rec := &g.contacts[i]
		info := g.info[rec.ID]
		if !g.claimed[ObjectContacts+"/"+rec.ID] && info.plant == "" && ok(rec, info) {
			out = append(out, rec)
		}
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// filled counts a record's non-empty fields: completeness, for survivors.
func filled(rec *crm.Record) int {
	n := 0
	for _, v := range rec.Fields {
		if v != "" {
			n++
		}
	}
	return n
}

// idLess orders ids numerically when they are numbers of equal form.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// survivor picks the record a merge keeps: the more complete, then the older.
func survivor(a, b *crm.Record) (keep, lose *crm.Record, why string) {
	fa, fb := filled(a), filled(b)
	switch {
	case fa > fb || (fa == fb && idLess(a.ID, b.ID)):
		keep, lose = a, b
	default:
		keep, lose = b, a
	}
	if fa == fb {
		return keep, lose, fmt.Sprintf("%s is kept (equally complete, older)", keep.ID)
	}
	return keep, lose, fmt.Sprintf("%s is kept (more complete: %d vs %d fields filled)", keep.ID, max(fa, fb), min(fa, fb))
}

func snapshot(rec *crm.Record) map[string]string {
	s := map[string]string{}
	for k, v := range rec.Fields {
		if v != "" {
			s[k] = v
		}
	}
	return s
}

func (g *gen) merge(object string, p pair, confidence float64, similar string) {
	a, b := g.record[object+"/"+p.orig], g.record[object+"/"+p.copy]
	keep, lose, why := survivor(a, b)
	g.add(pendingChange{c: batch.Change{
		Kind: "dedupe", Object: object, Record: keep.ID, Op: batch.OpMerge,
		MergeFrom: lose.ID, Source: SourceDedupe, Confidence: confidence,
		Trigger: "rule", Reason: similar + "; " + why, Snapshot: snapshot(lose),
	}})
}

// proposeDedupe merges every planted duplicate pair.
func (g *gen) proposeDedupe() {
	for _, p := range g.coPairs {
		a, b := g.record[ObjectCompanies+"/"+p.orig], g.record[ObjectCompanies+"/"+p.copy]
		g.merge(ObjectCompanies, p, g.conf(93, 98), fmt.Sprintf("same domain %s; names %q and %q differ only by the Inc. suffix",
			a.Fields["domain"], a.Fields["name"], b.Fields["name"]))
	}
	for _, p := range g.ctPairs {
		a, b := g.record[ObjectContacts+"/"+p.orig].Fields, g.record[ObjectContacts+"/"+p.copy].Fields
		switch p.kind {
		case "emailcase":
			g.merge(ObjectContacts, p, g.conf(97, 99), fmt.Sprintf("emails %s and %s differ only in case; names match (%s %s)",
				a["email"], b["email"], a["firstname"], a["lastname"]))
		case "nickname":
			g.merge(ObjectContacts, p, g.conf(85, 89), fmt.Sprintf("same company %s, last name %s and phone number (%q, %q); %s is a nickname of %s",
				a["company"], a["lastname"], a["phone"], b["phone"], b["firstname"], a["firstname"]))
		case "typo":
			what, x, y := "last names", a["lastname"], b["lastname"]
			if x == y {
				what, x, y = "first names", a["firstname"], b["firstname"]
			}
			g.merge(ObjectContacts, p, g.conf(91, 95), fmt.Sprintf("same email %s; %s %s and %s differ by one typo",
				a["email"], what, x, y))
		}
	}
}

// proposeOwners moves every contact of an inactive owner to an active one,
// round robin in id order.
func (g *gen) proposeOwners() {
	next := 0
	for i := range g.contacts {
		rec := &g.contacts[i]
		o := g.ownerOf[rec.Fields["owner"]]
		if o.Active || g.claimed[ObjectContacts+"/"+rec.ID] {
			continue
		}
		to := g.active[next%len(g.active)]
		next++
		c := g.set("owner", rec, "owner", to.ID, SourceOwnerRules, "rule", 1)
		c.Reason = fmt.Sprintf("owner %s (%s) is inactive; reassigned round robin to %s (%s)", o.ID, o.Name, to.ID, to.Name)
		g.add(pendingChange{c: c})
	}
}

func emptyOr(v string) string {
	if v == "" {
		return "empty"
	}
	return fmt.Sprintf("%q", v)
}

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return strings.ToLower(d)
}

// proposeEmails turns the risky results of a ZeroBounce verification run
// into changes: the planted role and disposable addresses and a few other
// risky results. proposeValidEmails adds the valid ones.
func (g *gen) proposeEmails() {
	zb := func(rec *crm.Record, after string, confidence float64, verdict string) {
		c := g.set("email_verification", rec, "email_status", after, SourceZeroBounce, "import", confidence)
		email, before := rec.Fields["email"], rec.Fields["email_status"]
		g.add(pendingChange{c: c, vendor: SourceZeroBounce, reason: func(row int) string {
			return fmt.Sprintf("ZeroBounce row %d: %s %s; email_status %s in CRM", row, email, verdict, emptyOr(before))
		}})
	}
	for i := range g.contacts {
		rec := &g.contacts[i]
		email := rec.Fields["email"]
		switch g.info[rec.ID].plant {
		case "role":
			local, _, _ := strings.Cut(email, "@")
			zb(rec, "role", g.conf(97, 99), fmt.Sprintf("is a role address (%s@), not a person", local))
		case "disposable":
			zb(rec, "disposable", g.conf(97, 99), fmt.Sprintf("uses the disposable-mail domain %s", domainOf(email)))
		}
	}
	noValid := map[string]bool{} // domains whose results were not conclusive
	risky := g.riskyPlan()
	cands := g.pool(func(rec *crm.Record, _ *contactInfo) bool { return rec.Fields["email_status"] == "" })
	for _, kind := range risky {
		if kind == "role" || kind == "disposable" {
			continue
		}
		var rec *crm.Record
		for len(cands) > 0 && rec == nil {
			if c := cands[0]; !noValid[domainOf(c.Fields["email"])] {
				rec = c
			}
			cands = cands[1:]
		}
		if rec == nil {
			break
		}
		d := domainOf(rec.Fields["email"])
		switch kind {
		case "invalid":
			zb(rec, "invalid", g.conf(90, 97), "is invalid (mailbox_not_found)")
		case "catch_all":
			noValid[d] = true
			zb(rec, "catch_all", g.conf(60, 75), fmt.Sprintf("is on %s, which accepts mail for any address, so the mailbox cannot be confirmed", d))
		case "unknown":
			noValid[d] = true
			zb(rec, "unknown", g.conf(50, 65), fmt.Sprintf("could not be checked (the mail server for %s timed out)", d))
		}
	}
	g.noValid = noValid
}

// proposeValidEmails adds the valid verification results last, from the
// contacts no other scenario touched.
func (g *gen) proposeValidEmails() {
	cands := g.pool(func(rec *crm.Record, _ *contactInfo) bool {
		s := rec.Fields["email_status"]
		return (s == "" || s == "unknown") && !g.noValid[domainOf(rec.Fields["email"])]
	})
	for _, rec := range cands[:min(g.scale(20), len(cands))] {
		c := g.set("email_verification", rec, "email_status", "valid", SourceZeroBounce, "import", g.conf(95, 99))
		email, before := rec.Fields["email"], rec.Fields["email_status"]
		g.add(pendingChange{c: c, vendor: SourceZeroBounce, reason: func(row int) string {
			return fmt.Sprintf("ZeroBounce row %d: %s is valid (mailbox exists); email_status %s in CRM", row, email, emptyOr(before))
		}})
	}
}

// proposeEnrichment turns a Clay export into changes: fills of empty job
// titles and phones, a few fills matched by name only (low confidence), and
// a few overwrites of a job title after a promotion.
func (g *gen) proposeEnrichment() {
	clay := func(rec *crm.Record, field, after string, confidence float64, match string) {
		c := g.set("enrichment", rec, field, after, SourceClay, "import", confidence)
		before := c.Before
		g.add(pendingChange{c: c, vendor: SourceClay, reason: func(row int) string {
			if before == "" {
				return fmt.Sprintf("Clay row %d matched by %s; %s empty in CRM", row, match, field)
			}
			return fmt.Sprintf("Clay row %d matched by %s; CRM has %s %q, Clay has %q", row, match, field, before, after)
		}})
	}
	fill := func(rec *crm.Record) (field, after string) {
		info := g.info[rec.ID]
		title, phone := rec.Fields["jobtitle"] == "", rec.Fields["phone"] == ""
		if title && (!phone || g.chance(50)) {
			return "jobtitle", pick(g.r, departments[info.dept].titles)
		}
		return "phone", info.phone.e164
	}
	empty := g.pool(func(rec *crm.Record, _ *contactInfo) bool {
		return rec.Fields["jobtitle"] == "" || rec.Fields["phone"] == ""
	})
	nFill, nLow := min(g.scale(15), len(empty)), g.scale(2)
	for i, rec := range empty {
		f := rec.Fields
		switch {
		case i < nFill:
			field, after := fill(rec)
			clay(rec, field, after, g.conf(91, 99), "email "+f["email"])
		case i < nFill+nLow:
			field, after := fill(rec)
			clay(rec, field, after, g.conf(72, 86), fmt.Sprintf("name %s %s and domain %s only (email not in Clay)", f["firstname"], f["lastname"], domainOf(f["email"])))
		}
	}
	// Overwrites: Clay knows of a promotion the CRM missed.
	promoted := g.pool(func(rec *crm.Record, info *contactInfo) bool {
		titles := departments[info.dept].titles
		i := slices.Index(titles, rec.Fields["jobtitle"])
		return i >= 0 && i < len(titles)-1
	})
	for _, rec := range promoted[:min(g.scale(4), len(promoted))] {
		titles := departments[g.info[rec.ID].dept].titles
		higher := titles[slices.Index(titles, rec.Fields["jobtitle"])+1:]
		clay(rec, "jobtitle", pick(g.r, higher), g.conf(90, 97), "email "+rec.Fields["email"])
	}
}

// lifecycle events that move a contact one stage on.
var lifecycleEvents = []struct{ from, to, event string }{
	{"subscriber", "lead", "form_submitted"},
	{"lead", "salesqualifiedlead", "demo_booked"},
	{"marketingqualifiedlead", "salesqualifiedlead", "meeting_booked"},
	{"salesqualifiedlead", "opportunity", "deal_created"},
	{"opportunity", "customer", "deal_closed_won"},
}

// proposeLifecycle moves contacts on after single events (auto) and after a
// lead-score model's judgement (review).
func (g *gen) proposeLifecycle() {
	stage := func(rec *crm.Record) string { return rec.Fields["lifecyclestage"] }
	day := func() string { return fmt.Sprintf("2026-11-%02d", 16+g.r.IntN(8)) }
	want := g.scale(6)
	for round := 0; want > 0; round++ {
		progress := false
		for _, ev := range lifecycleEvents {
			if want == 0 {
				break
			}
			cands := g.pool(func(rec *crm.Record, _ *contactInfo) bool { return stage(rec) == ev.from })
			if len(cands) == 0 {
				continue
			}
			rec := cands[0]
			detail := ""
			switch ev.event {
			case "form_submitted":
				detail = " (" + pick(g.r, []string{"Contact sales", "Request a quote", "Start free trial"}) + " form)"
			case "meeting_booked":
				detail = " with " + g.ownerOf[rec.Fields["owner"]].Name
			case "deal_created", "deal_closed_won":
				detail = fmt.Sprintf(" for deal D-%04d", 1000+g.r.IntN(9000))
			}
			c := g.set("lifecycle", rec, "lifecyclestage", ev.to, SourceEvents, "event", 1)
			c.Reason = fmt.Sprintf("%s event%s on %s moves %s to %s", ev.event, detail, day(), ev.from, ev.to)
			g.add(pendingChange{c: c})
			want--
			progress = true
		}
		if !progress {
			break
		}
	}
	scored := g.pool(func(rec *crm.Record, _ *contactInfo) bool {
		return stage(rec) == "lead" || stage(rec) == "marketingqualifiedlead"
	})
	for _, rec := range scored[:min(g.scale(4), len(scored))] {
		to, gate, threshold := "marketingqualifiedlead", "MQL", 70
		if stage(rec) == "marketingqualifiedlead" {
			to, gate, threshold = "salesqualifiedlead", "SQL", 85
		}
		c := g.set("lifecycle", rec, "lifecyclestage", to, SourceScore, "score", g.conf(60, 90))
		c.Reason = fmt.Sprintf("lead score rose to %d (%s threshold %d) on %s after %d pricing-page visits; moves %s to %s",
			threshold+1+g.r.IntN(12), gate, threshold, day(), 2+g.r.IntN(5), stage(rec), to)
		g.add(pendingChange{c: c})
	}
}

// finish orders the changes (by scenario, object, record), numbers vendor
// rows in that order and returns them.
func (g *gen) finish() []batch.Change {
	objRank := func(o string) int {
		if o == ObjectContacts {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(g.changes, func(a, b pendingChange) int {
		if d := slices.Index(kindOrder, a.c.Kind) - slices.Index(kindOrder, b.c.Kind); d != 0 {
			return d
		}
		if d := objRank(a.c.Object) - objRank(b.c.Object); d != 0 {
			return d
		}
		switch {
		case idLess(a.c.Record, b.c.Record):
			return -1
		case idLess(b.c.Record, a.c.Record):
			return 1
		}
		return 0
	})
	rows := map[string]int{}
	out := make([]batch.Change, len(g.changes))
	for i, p := range g.changes {
		if p.reason != nil {
			rows[p.vendor]++
			p.c.Reason = p.reason(rows[p.vendor])
		}
		out[i] = p.c
	}
	return out
}
