package sample

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/textdist"
)

var quickstart = Options{Seed: 1, Contacts: 300, Companies: 80}

// dataSets are the option sets every invariant is checked on.
var dataSets = []struct {
	name string
	opts Options
}{
	{"the quickstart data set", quickstart},
	{"the quickstart sizes with another seed", Options{Seed: 42, Contacts: 300, Companies: 80}},
	{"a small data set", Options{Seed: 7, Contacts: 40, Companies: 10}},
	{"a tiny data set", Options{Seed: 9, Contacts: 12, Companies: 3}},
	{"a large data set", Options{Seed: 3, Contacts: 2000, Companies: 400}},
}

// render is everything Generate produces, as bytes.
func render(t *testing.T, d Data) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCSV(&b, d.Companies); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&b, d.Contacts); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%+v\n", d.Owners)
	if err := d.ChangesJSONL(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, ds := range dataSets {
		t.Run("two runs on "+ds.name+" are byte-identical", func(t *testing.T) {
			a, b := render(t, Generate(ds.opts)), render(t, Generate(ds.opts))
			if !bytes.Equal(a, b) {
				t.Fatal("two runs with the same options differ")
			}
		})
	}
	t.Run("different seeds give different data", func(t *testing.T) {
		o := quickstart
		o.Seed = 2
		if bytes.Equal(render(t, Generate(quickstart)), render(t, Generate(o))) {
			t.Fatal("seeds 1 and 2 gave the same data")
		}
	})
	t.Run("zero options select the quickstart sizes", func(t *testing.T) {
		d := Generate(Options{})
		if len(d.Contacts) != DefaultContacts || len(d.Companies) != DefaultCompanies {
			t.Fatalf("got %d contacts, %d companies", len(d.Contacts), len(d.Companies))
		}
	})
}

func TestRecordsAreWellFormed(t *testing.T) {
	for _, ds := range dataSets {
		t.Run(ds.name+" has the requested sizes, ids and fields", func(t *testing.T) {
			d := Generate(ds.opts)
			if len(d.Contacts) != ds.opts.Contacts || len(d.Companies) != ds.opts.Companies {
				t.Fatalf("got %d contacts and %d companies", len(d.Contacts), len(d.Companies))
			}
			companies, owners := map[string]bool{}, map[string]bool{}
			for i, c := range d.Companies {
				if want := fmt.Sprintf("c-%04d", i+1); c.ID != want {
					t.Fatalf("company %d has id %q, want %q", i, c.ID, want)
				}
				if !slices.Equal(sortedKeys(c.Fields), sortedCopy(companyFields)) {
					t.Fatalf("company %s has fields %v", c.ID, sortedKeys(c.Fields))
				}
				companies[c.ID] = true
			}
			for _, o := range d.Owners {
				owners[o.ID] = true
			}
			prev := ""
			for i, c := range d.Contacts {
				if want := fmt.Sprint(1001 + i); c.ID != want {
					t.Fatalf("contact %d has id %q, want %q", i, c.ID, want)
				}
				if !slices.Equal(sortedKeys(c.Fields), sortedCopy(contactFields)) {
					t.Fatalf("contact %s has fields %v", c.ID, sortedKeys(c.Fields))
				}
				if !companies[c.Fields["company"]] || !owners[c.Fields["owner"]] {
					t.Fatalf("contact %s names unknown company %q or owner %q", c.ID, c.Fields["company"], c.Fields["owner"])
				}
				if c.Fields["created"] <= prev {
					t.Fatalf("contact %s created %s, not after the previous contact (%s)", c.ID, c.Fields["created"], prev)
				}
				prev = c.Fields["created"]
				for _, k := range []string{"email", "firstname", "lastname", "lifecyclestage"} {
					if c.Fields[k] == "" {
						t.Fatalf("contact %s has no %s", c.ID, k)
					}
				}
			}
		})
	}
}

func TestPlantedFlaws(t *testing.T) {
	d := Generate(quickstart)
	count := func(pred func(crm.Record) bool) int {
		n := 0
		for _, c := range d.Contacts {
			if pred(c) {
				n++
			}
		}
		return n
	}
	inactive := map[string]bool{}
	for _, o := range d.Owners {
		if !o.Active {
			inactive[o.ID] = true
		}
	}
	shapes := map[string]bool{}
	stagesSeen := map[string]bool{}
	for _, c := range d.Contacts {
		if p := c.Fields["phone"]; p != "" {
			shapes[regexp.MustCompile(`\d`).ReplaceAllString(p, "9")] = true
		}
		stagesSeen[c.Fields["lifecyclestage"]] = true
	}
	tests := []struct {
		name string
		ok   bool
		got  any
	}{
		{"some contacts have an empty job title", count(func(c crm.Record) bool { return c.Fields["jobtitle"] == "" }) >= 30, nil},
		{"some contacts have an empty phone", count(func(c crm.Record) bool { return c.Fields["phone"] == "" }) >= 30, nil},
		{"one or two owners are inactive", len(inactive) >= 1 && len(inactive) <= 2, len(inactive)},
		{"some contacts are owned by an inactive owner", count(func(c crm.Record) bool { return inactive[c.Fields["owner"]] }) >= 5, nil},
		{"phones come in many formats", len(shapes) >= 12, len(shapes)},
		{"lifecycle stages use HubSpot's vocabulary only", !slices.ContainsFunc(sortedKeys(stagesSeen), func(s string) bool { return !slices.Contains(stages, s) }), sortedKeys(stagesSeen)},
		{"most lifecycle stages occur", len(stagesSeen) >= 6, sortedKeys(stagesSeen)},
		{"some emails have capitals", count(func(c crm.Record) bool { return c.Fields["email"] != strings.ToLower(c.Fields["email"]) }) >= 1, nil},
		{"most contacts are not yet verified", count(func(c crm.Record) bool { return c.Fields["email_status"] == "" }) >= 150, nil},
		{"some companies lack an industry or head count", countRecs(d.Companies, func(c crm.Record) bool { return c.Fields["industry"] == "" || c.Fields["employees"] == "" }) >= 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Fatalf("not so (%v)", tt.got)
			}
		})
	}
}

func countRecs(recs []crm.Record, pred func(crm.Record) bool) int {
	n := 0
	for _, r := range recs {
		if pred(r) {
			n++
		}
	}
	return n
}

// index maps object/id to records.
func index(d Data) map[string]crm.Record {
	m := map[string]crm.Record{}
	for _, r := range d.Contacts {
		m[ObjectContacts+"/"+r.ID] = r
	}
	for _, r := range d.Companies {
		m[ObjectCompanies+"/"+r.ID] = r
	}
	return m
}

func TestChangesApplyToTheGeneratedRecords(t *testing.T) {
	for _, ds := range dataSets {
		t.Run("every change of "+ds.name+" matches its record and validates", func(t *testing.T) {
			d := Generate(ds.opts)
			recs := index(d)
			if len(d.Changes) == 0 {
				t.Fatal("no changes")
			}
			for i, c := range d.Changes {
				if c.ID != "" {
					t.Errorf("change %d has id %q, want it empty", i, c.ID)
				}
				v := c
				v.ID = "c1"
				if err := v.Validate("sample"); err != nil {
					t.Errorf("change %d (%s) is invalid: %v", i, c.Target(), err)
				}
				rec, ok := recs[c.Object+"/"+c.Record]
				if !ok {
					t.Errorf("change %d: no record %s/%s", i, c.Object, c.Record)
					continue
				}
				if c.Reason == "" {
					t.Errorf("change %d (%s) has no reason", i, c.Target())
				}
				switch c.Op {
				case batch.OpSet:
					if got := rec.Fields[c.Field]; got != c.Before {
						t.Errorf("change %d (%s): before %q, record has %q", i, c.Target(), c.Before, got)
					}
				case batch.OpMerge:
					loser, ok := recs[c.Object+"/"+c.MergeFrom]
					if !ok {
						t.Errorf("change %d: no record %s/%s to merge", i, c.Object, c.MergeFrom)
						continue
					}
					want := map[string]string{}
					for k, v := range loser.Fields {
						if v != "" {
							want[k] = v
						}
					}
					if fmt.Sprint(want) != fmt.Sprint(c.Snapshot) {
						t.Errorf("change %d (%s): snapshot %v, loser has %v", i, c.Target(), c.Snapshot, want)
					}
				default:
					t.Errorf("change %d: op %q", i, c.Op)
				}
			}
		})
	}
}

func TestEachRecordHasAtMostOneChange(t *testing.T) {
	for _, ds := range dataSets {
		t.Run("no record of "+ds.name+" is touched twice", func(t *testing.T) {
			d := Generate(ds.opts)
			fields, touched := map[string]int{}, map[string]int{}
			for i, c := range d.Changes {
				if c.Op == batch.OpSet {
					k := c.Object + "/" + c.Record + "." + c.Field
					if j, dup := fields[k]; dup {
						t.Errorf("changes %d and %d both set %s", j, i, k)
					}
					fields[k] = i
				}
				ids := []string{c.Record}
				if c.Op == batch.OpMerge {
					ids = append(ids, c.MergeFrom)
				}
				for _, id := range ids {
					k := c.Object + "/" + id
					if j, dup := touched[k]; dup {
						t.Errorf("changes %d and %d both touch %s", j, i, k)
					}
					touched[k] = i
				}
			}
		})
	}
}

// verdict mirrors the default policy of the spec.
func verdict(c batch.Change) string {
	switch {
	case c.Op == batch.OpMerge || c.Kind == "owner" || c.Kind == "dedupe":
		return "review"
	case c.Kind == "enrichment" && c.Before == "" && c.Confidence >= 0.9:
		return "auto"
	case c.Kind == "lifecycle" && c.Trigger == "event":
		return "auto"
	case c.Kind == "email_verification" && c.After == "valid":
		return "auto"
	}
	return "review"
}

func TestScenariosCoverAutoAndReview(t *testing.T) {
	d := Generate(quickstart)
	inactive := map[string]bool{}
	for _, o := range d.Owners {
		if !o.Active {
			inactive[o.ID] = true
		}
	}
	ownedByInactive := countRecs(d.Contacts, func(c crm.Record) bool { return inactive[c.Fields["owner"]] })
	in := func(x, lo, hi float64) bool { return x >= lo && x <= hi }
	tests := []struct {
		name     string
		match    func(c batch.Change) bool
		check    func(c batch.Change) bool // every matching change must pass
		verdict  string
		min, max int
	}{
		{
			name:  "enrichment fills of empty fields from Clay at 0.91-0.99 are auto",
			match: func(c batch.Change) bool { return c.Kind == "enrichment" && c.Before == "" && c.Confidence >= 0.9 },
			check: func(c batch.Change) bool {
				return in(c.Confidence, 0.91, 0.99) && (c.Field == "jobtitle" || c.Field == "phone")
			},
			verdict: "auto", min: 12, max: 18,
		},
		{
			name:    "enrichment overwrites of a present job title need review",
			match:   func(c batch.Change) bool { return c.Kind == "enrichment" && c.Before != "" },
			check:   func(c batch.Change) bool { return c.Field == "jobtitle" },
			verdict: "review", min: 3, max: 6,
		},
		{
			name:    "enrichment fills below confidence 0.9 need review",
			match:   func(c batch.Change) bool { return c.Kind == "enrichment" && c.Before == "" && c.Confidence < 0.9 },
			check:   func(c batch.Change) bool { return c.Confidence > 0.5 },
			verdict: "review", min: 2, max: 4,
		},
		{
			name:    "all enrichment comes from a Clay import",
			match:   func(c batch.Change) bool { return c.Kind == "enrichment" },
			check:   func(c batch.Change) bool { return c.Source == "clay" && c.Trigger == "import" && c.Op == batch.OpSet },
			verdict: "", min: 17, max: 30,
		},
		{
			name:  "contact merges are rule-based at 0.85-0.99 and need review",
			match: func(c batch.Change) bool { return c.Kind == "dedupe" && c.Object == ObjectContacts },
			check: func(c batch.Change) bool {
				return c.Op == batch.OpMerge && c.Source == "dedupe" && c.Trigger == "rule" && in(c.Confidence, 0.85, 0.99)
			},
			verdict: "review", min: 4, max: 10,
		},
		{
			name:  "company merges are rule-based at 0.85-0.99 and need review",
			match: func(c batch.Change) bool { return c.Kind == "dedupe" && c.Object == ObjectCompanies },
			check: func(c batch.Change) bool {
				return c.Op == batch.OpMerge && c.Source == "dedupe" && c.Trigger == "rule" && in(c.Confidence, 0.85, 0.99)
			},
			verdict: "review", min: 2, max: 5,
		},
		{
			name:  "lifecycle moves after a single event are auto",
			match: func(c batch.Change) bool { return c.Kind == "lifecycle" && c.Trigger == "event" },
			check: func(c batch.Change) bool {
				return c.Field == "lifecyclestage" && slices.Index(stages, c.After) > slices.Index(stages, c.Before) && strings.Contains(c.Reason, " event")
			},
			verdict: "auto", min: 5, max: 8,
		},
		{
			name:  "lifecycle moves by the lead-score model at 0.6-0.9 need review",
			match: func(c batch.Change) bool { return c.Kind == "lifecycle" && c.Trigger == "score" },
			check: func(c batch.Change) bool {
				return c.Field == "lifecyclestage" && c.Source == "lead-score-model" && in(c.Confidence, 0.6, 0.9)
			},
			verdict: "review", min: 3, max: 6,
		},
		{
			name:  "every contact of an inactive owner moves to an active owner, with review",
			match: func(c batch.Change) bool { return c.Kind == "owner" },
			check: func(c batch.Change) bool {
				return c.Field == "owner" && c.Source == "owner-rules" && c.Trigger == "rule" && inactive[c.Before] &&
					!inactive[c.After] && strings.Contains(c.Reason, c.Before)
			},
			verdict: "review", min: ownedByInactive, max: ownedByInactive,
		},
		{
			name:  "valid email results from ZeroBounce are auto",
			match: func(c batch.Change) bool { return c.Kind == "email_verification" && c.After == "valid" },
			check: func(c batch.Change) bool {
				return c.Field == "email_status" && c.Source == "zerobounce" && c.Trigger == "import"
			},
			verdict: "auto", min: 15, max: 25,
		},
		{
			name:  "risky email results from ZeroBounce need review",
			match: func(c batch.Change) bool { return c.Kind == "email_verification" && c.After != "valid" },
			check: func(c batch.Change) bool {
				return c.Field == "email_status" && c.Source == "zerobounce" && c.Trigger == "import" &&
					slices.Contains([]string{"invalid", "catch_all", "disposable", "role", "unknown"}, c.After)
			},
			verdict: "review", min: 5, max: 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for _, c := range d.Changes {
				if !tt.match(c) {
					continue
				}
				n++
				if !tt.check(c) {
					t.Errorf("unexpected change %s: %+v", c.Target(), c)
				}
				if tt.verdict != "" && verdict(c) != tt.verdict {
					t.Errorf("%s is %s under the default policy, want %s", c.Target(), verdict(c), tt.verdict)
				}
			}
			if n < tt.min || n > tt.max {
				t.Errorf("%d changes, want %d..%d", n, tt.min, tt.max)
			}
		})
	}
	t.Run("every risky email result occurs", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range d.Changes {
			if c.Kind == "email_verification" {
				seen[c.After] = true
			}
		}
		for _, s := range []string{"valid", "invalid", "catch_all", "disposable", "role", "unknown"} {
			if !seen[s] {
				t.Errorf("no change to %q", s)
			}
		}
	})
	t.Run("owners are reassigned round robin", func(t *testing.T) {
		per := map[string]int{}
		for _, c := range d.Changes {
			if c.Kind == "owner" {
				per[c.After]++
			}
		}
		lo, hi := len(d.Changes), 0
		for _, o := range d.Owners {
			if o.Active {
				lo, hi = min(lo, per[o.ID]), max(hi, per[o.ID])
			}
		}
		if hi-lo > 1 {
			t.Errorf("uneven reassignment %v", per)
		}
	})
}

// digits9 is a phone number's last nine digits, ignoring an extension: the
// national number in every country the sample uses.
func digits9(p string) string {
	if i := strings.Index(p, "ext"); i >= 0 {
		p = p[:i]
	}
	d := regexp.MustCompile(`\D`).ReplaceAllString(p, "")
	return d[max(len(d)-9, 0):]
}

func isNickname(a, b string) bool {
	for _, n := range nicknames {
		if (n.formal == a && slices.Contains(n.nick, b)) || (n.formal == b && slices.Contains(n.nick, a)) {
			return true
		}
	}
	return false
}

// companyKey strips the legal suffix from a company name.
func companyKey(name string) string {
	n := strings.ToLower(strings.NewReplacer(",", "", ".", "").Replace(name))
	for _, s := range []string{" incorporated", " inc"} {
		n = strings.TrimSuffix(n, s)
	}
	return n
}

func TestMergesJoinPlantedDuplicates(t *testing.T) {
	for _, ds := range dataSets {
		t.Run("every merge in "+ds.name+" joins similar records and keeps the better one", func(t *testing.T) {
			d := Generate(ds.opts)
			recs := index(d)
			merged := map[string]bool{}
			for _, c := range d.Changes {
				if c.Op != batch.OpMerge {
					continue
				}
				keep, lose := recs[c.Object+"/"+c.Record], recs[c.Object+"/"+c.MergeFrom]
				if keep.ID == "" || lose.ID == "" {
					t.Fatalf("%s: a record does not exist", c.Target())
				}
				a, b := keep.Fields, lose.Fields
				var similar bool
				switch c.Object {
				case ObjectCompanies:
					similar = a["domain"] == b["domain"] && a["name"] != b["name"] && companyKey(a["name"]) == companyKey(b["name"])
				case ObjectContacts:
					sameEmail := strings.EqualFold(a["email"], b["email"]) &&
						textdist.Levenshtein(a["firstname"]+" "+a["lastname"], b["firstname"]+" "+b["lastname"]) <= 2
					nick := a["company"] == b["company"] && a["lastname"] == b["lastname"] && a["phone"] != "" &&
						digits9(a["phone"]) == digits9(b["phone"]) && isNickname(a["firstname"], b["firstname"])
					similar = sameEmail || nick
				}
				if !similar {
					t.Errorf("%s joins dissimilar records:\n%v\n%v", c.Target(), a, b)
				}
				fk, fl := filled(&keep), filled(&lose)
				if fk < fl || (fk == fl && !idLess(keep.ID, lose.ID)) {
					t.Errorf("%s keeps the wrong record (%d vs %d fields filled)", c.Target(), fk, fl)
				}
				merged[c.Object+"/"+keep.ID+"+"+lose.ID] = true
				merged[c.Object+"/"+lose.ID+"+"+keep.ID] = true
			}
			// The planted duplicates are the only ones a same-email or
			// same-domain rule could find.
			for _, g := range []struct {
				object string
				recs   []crm.Record
				key    func(crm.Record) string
			}{
				{ObjectContacts, d.Contacts, func(r crm.Record) string { return strings.ToLower(r.Fields["email"]) }},
				{ObjectCompanies, d.Companies, func(r crm.Record) string { return r.Fields["domain"] }},
			} {
				first := map[string]string{}
				for _, r := range g.recs {
					k := g.key(r)
					if o, dup := first[k]; dup && !merged[g.object+"/"+o+"+"+r.ID] {
						t.Errorf("%s %s and %s share %q but are not merged", g.object, o, r.ID, k)
					}
					first[k] = r.ID
				}
			}
		})
	}
	t.Run("the quickstart plants every kind of contact duplicate", func(t *testing.T) {
		d := Generate(quickstart)
		recs := index(d)
		kinds := map[string]bool{}
		for _, c := range d.Changes {
			if c.Op != batch.OpMerge || c.Object != ObjectContacts {
				continue
			}
			a, b := recs[c.Object+"/"+c.Record].Fields, recs[c.Object+"/"+c.MergeFrom].Fields
			switch {
			case a["email"] != b["email"] && strings.EqualFold(a["email"], b["email"]):
				kinds["email case"] = true
			case a["email"] == b["email"]:
				kinds["typo"] = true
			case isNickname(a["firstname"], b["firstname"]):
				kinds["nickname"] = true
			}
		}
		if len(kinds) != 3 {
			t.Errorf("planted kinds %v, want email case, typo and nickname", sortedKeys(kinds))
		}
	})
}

func TestWriteCSV(t *testing.T) {
	tests := []struct {
		name string
		recs []crm.Record
		want string
	}{
		{
			name: "known fields come in the usual order after id",
			recs: []crm.Record{{ID: "c-0001", Fields: map[string]string{"owner": "o-01", "domain": "acme.io", "name": "Acme"}}},
			want: "id,name,domain,owner\nc-0001,Acme,acme.io,o-01\n",
		},
		{
			name: "unknown fields follow alphabetically and missing values are empty",
			recs: []crm.Record{
				{ID: "1", Fields: map[string]string{"zeta": "z", "email": "a@b.io"}},
				{ID: "2", Fields: map[string]string{"alpha": "x"}},
			},
			want: "id,email,alpha,zeta\n1,a@b.io,,z\n2,,x,\n",
		},
		{
			name: "values with commas and quotes are quoted",
			recs: []crm.Record{{ID: "c-0002", Fields: map[string]string{"name": `Acme, Inc. "the best"`}}},
			want: "id,name\nc-0002,\"Acme, Inc. \"\"the best\"\"\"\n",
		},
		{
			name: "no records give just the id header",
			want: "id\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteCSV(&b, tt.recs); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
	t.Run("the generated contacts round-trip through CSV", func(t *testing.T) {
		d := Generate(quickstart)
		var b bytes.Buffer
		if err := WriteCSV(&b, d.Contacts); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if want := append([]string{"id"}, contactFields...); !slices.Equal(rows[0], want) {
			t.Fatalf("header %v, want %v", rows[0], want)
		}
		for i, row := range rows[1:] {
			c := d.Contacts[i]
			if row[0] != c.ID {
				t.Fatalf("row %d has id %s, want %s", i+1, row[0], c.ID)
			}
			for j, k := range rows[0][1:] {
				if row[j+1] != c.Fields[k] {
					t.Fatalf("contact %s %s: %q, want %q", c.ID, k, row[j+1], c.Fields[k])
				}
			}
		}
	})
}

// jsonKeys returns the keys of one JSON object line in order.
func jsonKeys(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line %s: not an object", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestChangesJSONL(t *testing.T) {
	setKeys := []string{"kind", "object", "record", "op", "field", "before", "after", "source", "confidence", "trigger", "reason"}
	mergeKeys := []string{"kind", "object", "record", "op", "merge_from", "source", "confidence", "trigger", "reason", "snapshot"}
	tests := []struct {
		name   string
		change batch.Change
		want   string
	}{
		{
			name: "a set keeps an empty before and has no merge keys",
			change: batch.Change{Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle",
				After: "VP Sales & Ops", Source: "clay", Confidence: 0.97, Trigger: "import", Reason: "Clay row 1 <x>"},
			want: `{"kind":"enrichment","object":"contacts","record":"1001","op":"set","field":"jobtitle","before":"","after":"VP Sales & Ops","source":"clay","confidence":0.97,"trigger":"import","reason":"Clay row 1 <x>"}`,
		},
		{
			name: "a merge has merge_from and snapshot but no field, before or after",
			change: batch.Change{Kind: "dedupe", Object: "contacts", Record: "1001", Op: "merge", MergeFrom: "1002",
				Source: "dedupe", Confidence: 0.93, Trigger: "rule", Reason: "same email", Snapshot: map[string]string{"firstname": "Ann", "email": "a@x.com"}},
			want: `{"kind":"dedupe","object":"contacts","record":"1001","op":"merge","merge_from":"1002","source":"dedupe","confidence":0.93,"trigger":"rule","reason":"same email","snapshot":{"email":"a@x.com","firstname":"Ann"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := (Data{Changes: []batch.Change{tt.change}}).ChangesJSONL(&b); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("every generated change is one line with the batch file's keys and values", func(t *testing.T) {
		d := Generate(quickstart)
		var b bytes.Buffer
		if err := d.ChangesJSONL(&b); err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n"))
		if len(lines) != len(d.Changes) {
			t.Fatalf("%d lines for %d changes", len(lines), len(d.Changes))
		}
		for i, line := range lines {
			c := d.Changes[i]
			want := setKeys
			if c.Op == batch.OpMerge {
				want = mergeKeys
			}
			if got := jsonKeys(t, line); !slices.Equal(got, want) {
				t.Errorf("line %d keys %v, want %v", i+1, got, want)
			}
			var back struct {
				Kind, Object, Record, Op, Field, Before, After, Source, Trigger, Reason string
				MergeFrom                                                               string `json:"merge_from"`
				Confidence                                                              float64
				Snapshot                                                                map[string]string
			}
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatal(err)
			}
			got := batch.Change{Kind: back.Kind, Object: back.Object, Record: back.Record, Op: back.Op, Field: back.Field,
				Before: back.Before, After: back.After, MergeFrom: back.MergeFrom, Source: back.Source,
				Confidence: back.Confidence, Trigger: back.Trigger, Reason: back.Reason, Snapshot: back.Snapshot}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c) {
				t.Errorf("line %d decodes to\n%+v\nwant\n%+v", i+1, got, c)
			}
		}
	})
}

func TestSourceIsGofmted(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	for _, f := range files {
		t.Run(f+" is gofmt-formatted", func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := format.Source(src)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(src, out) {
				t.Error("run gofmt -w")
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
