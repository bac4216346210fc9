package dedupe

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detecttest"
	"github.com/crmops/crmops/internal/seed"
)

func rec(id string, kv ...string) crm.Record { return detecttest.Rec(id, kv...) }

// background is n distinct people, so that the model has data to learn
// from: no two share a name, an email or a phone.
func background(n int, withAddress bool) []crm.Record {
	firsts := []string{"Anna", "Priya", "Mateo", "Aisha", "Wei", "Sven", "Ingrid", "Olivia", "Noah", "Emma", "Sofia", "Lucas", "Chloe", "Ethan", "Maya", "Omar", "Fatima", "Hiroshi", "Yuki", "Lars"}
	lasts := []string{"Okafor", "Schmidt", "Rossi", "Dubois", "Jansen", "Andersson", "Kowalski", "Novak", "Murphy", "Walker", "Hughes", "Clarke", "Fischer", "Weber", "Bernard", "Lindgren", "Nilsson", "Tanaka", "Sato", "Wong"}
	var out []crm.Record
	for i := range n {
		f, l := firsts[i%len(firsts)], lasts[(i/len(firsts)+i)%len(lasts)]
		kv := []string{"firstname", f, "lastname", l, "email", fmt.Sprintf("%s.%s%d@firm%d.com", strings.ToLower(f), strings.ToLower(l), i, i%17),
			"phone", fmt.Sprintf("+1 212 %03d %04d", 100+i%800, 1000+i*7%9000), "company", fmt.Sprintf("c-%d", i%17)}
		if withAddress {
			kv = append(kv, "address", fmt.Sprintf("%d %s street", 1+i%97, lasts[i%len(lasts)]), "zip", fmt.Sprintf("%04d", 2000+i%300),
				"date_of_birth", fmt.Sprintf("19%02d%02d%02d", 40+i%50, 1+i%12, 1+i%28), "ssn", fmt.Sprintf("%07d", 1000000+i*7919))
		}
		out = append(out, rec(fmt.Sprintf("b%d", i), kv...))
	}
	return out
}

func crmWith(t *testing.T, contacts, companies []crm.Record) crm.Connector {
	t.Helper()
	db := detecttest.OpenCRM(t)
	if len(contacts) > 0 {
		detecttest.Seed(t, db, "contacts", contacts...)
	}
	if len(companies) > 0 {
		detecttest.Seed(t, db, "companies", companies...)
	}
	return db
}

// run detects with settings (as under detectors.dedupe; "" for none).
func run(t *testing.T, db crm.Connector, settings string) *detect.Result {
	t.Helper()
	d := detecttest.MustDetector(t, Name, New, settings)
	return detecttest.Run(t, d, db)
}

// merges lists the merges as "object survivor <- loser", leaving out the
// background records' ids (b...) only when they are not involved.
func merges(res *detect.Result) []string {
	out := []string{}
	for _, c := range res.Changes {
		if c.Op == batch.OpMerge {
			out = append(out, c.Object+" "+c.Record+" <- "+c.MergeFrom)
		}
	}
	return out
}

func wantMerges(t *testing.T, res *detect.Result, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := merges(res); !reflect.DeepEqual(got, want) {
		t.Errorf("merges:\n got %q\nwant %q", got, want)
		for _, c := range res.Changes {
			t.Logf("  %s <- %s (%.2f): %s", c.Record, c.MergeFrom, c.Confidence, c.Reason)
		}
	}
}

func TestComparisonLevels(t *testing.T) {
	label := func(kind string, l uint8) string { return kinds[kind].levels[l].label }
	cases := []struct{ kind, a, b, want string }{
		{kindName, "Theodore", "theodore", "exact"},
		{kindName, "Morris", "Mosrir", "similar"},
		{kindName, "Morris", "Morirs", "typo"},
		{kindName, "Jonathan", "Jonahtan", "typo"},
		{kindName, "Bob", "Robert", "nickname"},
		{kindName, "Daniel", "Daniela", "other form of the name"},
		{kindName, "J", "John", "initial"},
		{kindName, "Luke", "Mia", "different"},
		{kindEmail, "Ann.Lee@ACME.io", "ann.lee@acme.io", "exact"},
		{kindEmail, "anna.berg+crm@gmail.com", "annaberg@googlemail.com", "exact"},
		{kindEmail, "robert255@smith.net", "roberta25@smith.net", "typo in the local part"},
		{kindEmail, "ann.lee@acme.io", "ann.lee@acme.co", "same local part, domain one typo off"},
		{kindEmail, "ann.lee@acme.io", "ann.lee@globex.com", "different"},
		{kindPhone, "+1 (415) 555-0100", "415.555.0100", "exact"},
		{kindPhone, "+44 20 7946 0958", "020 7946 0958", "exact"},
		{kindPhone, "+1 415 555 0100", "+1 415 555 0101", "one digit off"},
		{kindPhone, "+1 415 555 0100", "+44 415 555 0100", "different"},
		{kindDate, "19570422", "1957-04-22", "exact"},
		{kindDate, "19570305", "19570503", "day and month swapped"},
		{kindDate, "19570422", "19570432", "one digit off"},
		{kindDate, "19570422", "19811103", "different"},
		{kindPostcode, "2776", "2776", "exact"},
		{kindPostcode, "4814", "4184", "typo"},
		{kindPostcode, "sw1a 1aa", "SW1A1AA", "exact"},
		{kindPostcode, "2776", "2509", "different"},
		{kindAddress, "221 E. 51st Street", "221 e 51st st", "exact"},
		{kindAddress, "707 E. 37th St.", "707 E 37th Street Rear", "same number, similar street"},
		{kindAddress, "maltby circuit", "38 maltby circuit", "similar street, a number missing"},
		{kindAddress, "48 goldfinch circuit", "231 goldfinch circuit", "other house number"},
		// The house number is the first number that is not an ordinal; a
		// floor or a suite after it is left out, a range holds its numbers.
		{kindAddress, "744 N. Monticello Ave, 1st Fl", "744 n monticello", "same number, similar street"},
		{kindAddress, "1900 W Van Buren St, Suite 1608", "1900 W. Vanburen", "same number, similar street"},
		{kindAddress, "4753-59 W. Washington", "4757 W Washington Blvd", "same number, similar street"},
		{kindAddress, "4753-59 W. Washington", "4761 W Washington Blvd", "other house number"},
		{kindAddress, "221 E. 51st St.", "51st Street", "similar street, a number missing"},
		{kindAddress, "1900 N Halsted St", "1900 S Halsted St", "same number, other words"},
		{kindText, "St. James", "st james", "exact"},
		{kindText, "north stirling downs", "north stirilng downs", "typo"},
		{kindText, "Lake Pulaski", "Pulaski Lake", "same words"},
		{kindOrgName, "Salvation Army - Temple / Salvation Army", "Salvation Army Temple", "same words"},
		{kindOrgName, "Jenner", "Jenner Academy of the Arts", "one name within the other"},
		{kindOrgName, "ACME, Inc.", "Acme", "exact"},
		{kindExact, "WA", "wa", "exact"},
		{kindExact, "WA", "NSW", "different"},
		{kindID, "6988048", "6988048", "exact"},
		{kindID, "6988048", "6988043", "one character off"},
		{kindID, "6988048", "7364009", "different"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.a+" / "+tc.b, func(t *testing.T) {
			a, b := normalize(tc.kind, tc.a), normalize(tc.kind, tc.b)
			if got := label(tc.kind, compareValues(tc.kind, a, b)); got != tc.want {
				t.Errorf("level %q, want %q", got, tc.want)
			}
		})
	}
	// Swapped first and last names: each part is the other record's other.
	if got := label(kindName, compareNames("smith", "john", "john", "smith", true)); got != "swapped" {
		t.Errorf("swapped names: %q", got)
	}
}

func TestEveryBlockingRuleFindsItsPair(t *testing.T) {
	// Each pair shares only what its rule blocks on.
	cases := []struct {
		object, rule string
		a, b         crm.Record
	}{
		{"contacts", "email", rec("1", "email", "ann@x.io"), rec("2", "email", "ANN@x.io")},
		{"contacts", "email local part", rec("1", "email", "ann.lee@acme.io"), rec("2", "email", "ann.lee@acme.co")},
		{"contacts", "phone", rec("1", "phone", "+1 415 555 0100"), rec("2", "mobilephone", "415.555.0100")},
		{"contacts", "name", rec("1", "firstname", "Bob", "lastname", "Smith"), rec("2", "firstname", "Smith", "lastname", "Robert")},
		{"contacts", "last name + date of birth", rec("1", "firstname", "Ann", "lastname", "Lee", "date_of_birth", "19800101"), rec("2", "firstname", "Anne", "lastname", "Lee", "date_of_birth", "1980-01-01")},
		{"contacts", "first name + date of birth", rec("1", "firstname", "Ann", "lastname", "Lee", "date_of_birth", "19800101"), rec("2", "firstname", "Ann", "lastname", "Lei", "date_of_birth", "19800101")},
		{"contacts", "last name sound + zip", rec("1", "lastname", "Smith", "zip", "2776"), rec("2", "lastname", "Smyth", "zip", "2776")},
		{"contacts", "last name sound + city", rec("1", "lastname", "Smith", "city", "Bittern"), rec("2", "lastname", "Smyth", "city", "bittern")},
		{"contacts", "date of birth + zip", rec("1", "date_of_birth", "19800101", "zip", "2776"), rec("2", "date_of_birth", "19800101", "zip", "2776")},
		{"contacts", "address", rec("1", "address", "6 Tullaroop Street"), rec("2", "address", "6 tullaroop st.")},
		{"contacts", "ssn", rec("1", "ssn", "6988048"), rec("2", "ssn", "6988048")},
		{"companies", "domain", rec("1", "domain", "https://www.acme.io/"), rec("2", "domain", "acme.io")},
		{"companies", "name", rec("1", "name", "ACME, Inc."), rec("2", "name", "Acme")},
		{"companies", "phone", rec("1", "phone", "3865286", "country", "US"), rec("2", "phone", "386-5286", "country", "US")},
		{"companies", "name words", rec("1", "name", "Salvation Army - Temple"), rec("2", "name", "Salvation Army Temple")},
		{"companies", "address", rec("1", "address", "316 N Pulaski Rd"), rec("2", "address", "316 North Pulaski Road")},
	}
	for _, tc := range cases {
		t.Run(tc.object+" "+tc.rule, func(t *testing.T) {
			cfg := objectConfig{fields: defaultFields[tc.object]}
			if tc.rule == "ssn" {
				cfg.idents = []string{"ssn"}
				cfg.fields = setField(cfg.fields, fieldSpec{"ssn", kindID})
			}
			tb := newTable(tc.object, cfg.fields)
			tb.add(tc.a)
			tb.add(tc.b)
			tb.finish()
			pairs, reports, _ := tb.candidates(tb.rules(cfg.idents))
			if len(pairs) != 1 {
				t.Fatalf("%d candidate pairs, want 1", len(pairs))
			}
			for _, r := range reports {
				if r.Rule == tc.rule && r.Pairs == 1 {
					return
				}
			}
			t.Errorf("rule %q did not produce the pair: %v", tc.rule, reports)
		})
	}
}

// The misses of issue 11, each now found.
func TestNamedMisses(t *testing.T) {
	cases := []struct {
		name     string
		settings string
		a, b     crm.Record
	}{
		{"same email, first and last name swapped", "",
			rec("x1", "email", "morgan.kelly@acme.io", "firstname", "Morgan", "lastname", "Kelly", "company", "c-1"),
			rec("x2", "email", "morgan.kelly@acme.io", "firstname", "Kelly", "lastname", "Morgan")},
		{"same email, first name missing on one side and a typo in the last name", "",
			rec("x1", "email", "t.harrington@acme.io", "firstname", "Tessa", "lastname", "Harrington", "company", "c-1"),
			rec("x2", "email", "t.harrington@acme.io", "lastname", "Harringotn")},
		{"a transposition in the last name", "",
			rec("x1", "email", "theodore.morris@acme.io", "firstname", "Theodore", "lastname", "Morris", "phone", "+1 646 714 3570"),
			rec("x2", "email", "theodore.morris@acme.io", "firstname", "Theodore", "lastname", "Mosrir")},
		{"emails one typo apart, no phone or company", "",
			rec("x1", "email", "robert255@smith.net", "firstname", "Robert", "lastname", "Smith"),
			rec("x2", "email", "roberta25@smith.net", "firstname", "Robert", "lastname", "Smith")},
		{"FEBRL: identical but for a postcode typo", "contacts:\n  identifiers: [ssn]",
			rec("x1", "firstname", "lachlan", "lastname", "berry", "address", "69 giblin street", "city", "bittern", "zip", "4814", "state", "qld", "date_of_birth", "19990219", "ssn", "7364009"),
			rec("x2", "firstname", "lachlan", "lastname", "berry", "address", "69 giblin street", "city", "bittern", "zip", "4184", "state", "qld", "date_of_birth", "19990219", "ssn", "7364009")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bg := background(300, strings.Contains(tc.settings, "ssn"))
			res := run(t, crmWith(t, append(bg, tc.a, tc.b), nil), tc.settings)
			wantMerges(t, res, "contacts x1 <- x2")
		})
		t.Run(tc.name+", in a CRM of three", func(t *testing.T) {
			other := rec("x0", "email", "zed.moon@gamma.io", "firstname", "Zed", "lastname", "Moon")
			res := run(t, crmWith(t, []crm.Record{other, tc.a, tc.b}, nil), tc.settings)
			wantMerges(t, res, "contacts x1 <- x2")
		})
	}
	t.Run("company name with a branch, same phone", func(t *testing.T) {
		var cos []crm.Record
		for i := range 200 {
			cos = append(cos, rec(fmt.Sprintf("b%d", i), "name", fmt.Sprintf("Sunrise %d Learning Center", i), "phone", fmt.Sprintf("%07d", 2000000+i*37), "address", fmt.Sprintf("%d W %dth St", 100+i, i%90+1), "country", "US"))
		}
		cos = append(cos,
			rec("s1", "name", "Salvation Army - Temple / Salvation Army", "phone", "3865286", "address", "1 N Ogden Ave", "country", "US"),
			rec("s2", "name", "Salvation Army Temple", "phone", "386-5286", "country", "US"))
		res := run(t, crmWith(t, nil, cos), "objects: [companies]")
		wantMerges(t, res, "companies s1 <- s2")
	})
}

func TestLookalikesAreNotMerged(t *testing.T) {
	recs := append(background(300, false),
		// Daniel and Daniela on one line at one company.
		rec("1005", "email", "daniel.gupta@acme.io", "firstname", "Daniel", "lastname", "Gupta", "company", "c-1", "phone", "020 7946 0958"),
		rec("1006", "email", "daniela.gupta@acme.io", "firstname", "Daniela", "lastname", "Gupta", "company", "c-1", "phone", "+44 20 7946 0958"),
		// A family mailbox.
		rec("1007", "email", "thesmiths@gmail.com", "firstname", "Malik", "lastname", "Smith", "phone", "555 0199"),
		rec("1008", "email", "the.smiths@gmail.com", "firstname", "Zofia", "lastname", "Smith", "phone", "555 0199"),
		// Colleagues on one switchboard, one with no name, from a role address.
		rec("1009", "email", "info@acme.io", "firstname", "Olivia", "lastname", "Byrne", "company", "c-1", "phone", "+1 415 555 0000"),
		rec("1010", "email", "info@acme.io", "company", "c-1", "phone", "+1 415 555 0000"),
		// Same first name, other last name and email, same switchboard.
		rec("1011", "email", "anna.kim@acme.io", "firstname", "Anna", "lastname", "Kim", "company", "c-1", "phone", "+1 415 555 0000"),
		rec("1012", "email", "anna.park@acme.io", "firstname", "Anna", "lastname", "Park", "company", "c-1", "phone", "+1 415 555 0000"),
	)
	wantMerges(t, run(t, crmWith(t, recs, nil), ""))
}

func TestWeakLinksDoNotChainPeople(t *testing.T) {
	// Chris shares a phone with Christopher and an email with Christina:
	// either may be Chris, but Christopher and Christina are two people.
	recs := append(background(300, false),
		rec("1001", "email", "christopher.park@acme.io", "firstname", "Christopher", "lastname", "Park", "company", "c-1", "phone", "415.555.0177"),
		rec("1002", "email", "chris.park@acme.io", "firstname", "Chris", "lastname", "Park", "company", "c-1", "phone", "+1 (415) 555-0177", "jobtitle", "CFO", "owner", "o-1"),
		rec("1003", "email", "chris.park@acme.io", "firstname", "Christina", "lastname", "Park", "company", "c-1"),
	)
	res := run(t, crmWith(t, recs, nil), "")
	got := merges(res)
	if len(got) != 1 || !strings.HasPrefix(got[0], "contacts 1002 <- ") {
		t.Errorf("merges %q: want Chris to absorb one of them only", got)
	}
}

func TestMergeChangesCarryBothSnapshotsAndTheWaterfall(t *testing.T) {
	recs := append(background(300, false),
		rec("1001", "email", "ann.lee@acme.io", "firstname", "Ann", "lastname", "Lee", "company", "c-42", "jobtitle", "CTO", "created", "2024-01-02T10:00:00Z"),
		rec("1002", "email", " Ann.Lee@ACME.io ", "firstname", "ann", "lastname", "lee", "company", "c-42", "city", "Berlin", "created", "2024-03-02T10:00:00Z"),
	)
	res := run(t, crmWith(t, recs, nil), "")
	if len(res.Changes) != 2 {
		t.Fatalf("changes %v", merges(res))
	}
	m, set := res.Changes[0], res.Changes[1]
	if m.ID != "m1" || m.Record != "1001" || m.MergeFrom != "1002" || m.Confidence < 0.95 {
		t.Errorf("merge %s", detecttest.Describe(m))
	}
	for _, want := range []string{"email exact (+", "firstname exact (+", "lastname exact (+", "company exact (+", "prior -", ": match weight "} {
		if !strings.Contains(m.Reason, want) {
			t.Errorf("reason %q lacks %q", m.Reason, want)
		}
	}
	if m.Snapshot["email"] != " Ann.Lee@ACME.io " || m.Snapshot["city"] != "Berlin" || m.SurvivorSnapshot["jobtitle"] != "CTO" {
		t.Errorf("snapshot %v, survivor snapshot %v", m.Snapshot, m.SurvivorSnapshot)
	}
	// The survivor keeps its values and fills its empty city from the
	// loser: a set that follows the merge.
	if set.Op != batch.OpSet || set.Follows != "m1" || set.Record != "1001" || set.Field != "city" || set.After != "Berlin" ||
		set.Confidence != m.Confidence || !strings.HasPrefix(set.Reason, "survivorship: fill_empty, value of 1002") {
		t.Errorf("set %s follows=%s", detecttest.Describe(set), set.Follows)
	}
	// The planner names the sets; the merges keep their temporary ids.
	res.Changes[1].ID = "s1"
	b := batch.Batch{Version: 1, ID: "b", Detector: "dedupe", Changes: res.Changes}
	b.Created = b.Created.AddDate(2026, 0, 0)
	if err := b.Validate(""); err != nil {
		t.Errorf("the batch is invalid: %v", err)
	}
}

func TestEMConvergesOnSyntheticPairs(t *testing.T) {
	// Two comparisons; matches agree 90% and 80% of the time, non-matches
	// 1% and 5%; 30% of the candidates match.
	kind := &kindDef{name: "test", levels: []levelDef{missing, {label: "exact", m: 0.5, u: 0.5}, {label: "different", m: 0.5, u: 0.5}}}
	md := &model{comps: []*comparison{{name: "a", kind: kind}, {name: "b", kind: kind}}}
	md.u = [][]float64{{0, 0.01, 0.99}, {0, 0.05, 0.95}}
	md.m = [][]float64{{0, 0.5, 0.5}, {0, 0.5, 0.5}}
	patterns := map[pattern]int{}
	add := func(la, lb uint8, n float64) { patterns[pattern(la)|pattern(lb)<<4] += int(math.Round(n)) }
	const total = 100000.0
	for _, x := range []struct{ a, b, pm, pu float64 }{{1, 1, 0.9 * 0.8, 0.01 * 0.05}, {1, 2, 0.9 * 0.2, 0.01 * 0.95}, {2, 1, 0.1 * 0.8, 0.99 * 0.05}, {2, 2, 0.1 * 0.2, 0.99 * 0.95}} {
		add(uint8(x.a), uint8(x.b), total*(0.3*x.pm+0.7*x.pu))
	}
	m := md.emSession(patterns, []bool{false, false}, nil)
	if !md.lastConverged {
		t.Fatalf("not converged after %d iterations", md.lastIterations)
	}
	if math.Abs(md.lambda-0.3) > 0.02 || math.Abs(m[0][1]-0.9) > 0.02 || math.Abs(m[1][1]-0.8) > 0.02 {
		t.Errorf("lambda %.3f, m %.3f %.3f; want 0.3, 0.9, 0.8", md.lambda, m[0][1], m[1][1])
	}
}

func TestCommonValuesCountLessThanRareOnes(t *testing.T) {
	tb := newTable("contacts", defaultFields["contacts"])
	for i := range 100 {
		last := "smith"
		if i >= 98 {
			last = "zabrowski"
		} else if i >= 50 {
			last = fmt.Sprintf("other%c%c", 'a'+i/26, 'a'+i%26)
		}
		tb.add(rec(fmt.Sprint(i), "lastname", last))
	}
	tb.finish()
	comps, err := tb.comparisons(objectConfig{fields: defaultFields["contacts"]})
	if err != nil {
		t.Fatal(err)
	}
	md := train(tb, comps, nil, nil, 0, true)
	smith, rare := md.tfAdjust(tb, 0, 0, 1), md.tfAdjust(tb, 0, 98, 99)
	if !(rare > 0 && smith < 0 && rare-smith > 4) {
		t.Errorf("tf adjustment smith %.1f, zabrowski %.1f: a rare surname should count clearly more", smith, rare)
	}
}

func TestOversizedBlocksAreSplitAndReported(t *testing.T) {
	// 60 colleagues named Lee on one switchboard: split by first name.
	var recs []crm.Record
	for i := range 60 {
		recs = append(recs, rec(fmt.Sprint(2000+i), "firstname", fmt.Sprintf("Person%c%c", 'a'+i/26, 'a'+i%26), "lastname", "Lee", "company", "c-1", "phone", "+1 (415) 555-0000"))
	}
	d := detecttest.MustDetector(t, Name, New, "").(*Detector)
	res, rep, err := d.Run(t.Context(), detecttest.EnvFor(crmWith(t, recs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rep.Rules {
		if r.Rule == "phone" && r.Oversized == 1 && r.Uncompared == 60 {
			found = true
		}
	}
	if !found {
		t.Errorf("rules %v", rep.Rules)
	}
	if len(res.Skipped) == 0 || !strings.Contains(res.Skipped[0].String(), "contacts blocking by phone (1 blocks, largest 60 records like 2000)") {
		t.Errorf("skipped %v", res.Skipped)
	}
}

func TestDetectIsDeterministic(t *testing.T) {
	db := detecttest.OpenCRM(t)
	sink := seed.SinkFunc(func(ctx context.Context, object string, recs []crm.Record) error {
		_, _, err := db.Upsert(ctx, object, recs, "seed")
		return err
	})
	truth, err := seed.Generate(t.Context(), seed.Options{Seed: 5, Contacts: 4000}, sink)
	if err != nil {
		t.Fatal(err)
	}
	a, b := run(t, db, ""), run(t, db, "")
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs over one CRM differ")
	}
	group := map[string]int{}
	for i, g := range truth.Groups {
		for _, id := range g.IDs {
			group[g.Object+"/"+id] = i + 1
		}
	}
	correct := 0
	for _, c := range a.Changes {
		if c.Op != batch.OpMerge {
			continue
		}
		if g := group[c.Object+"/"+c.Record]; g != 0 && g == group[c.Object+"/"+c.MergeFrom] {
			correct++
		} else {
			t.Errorf("wrong merge %s <- %s: %s", c.Record, c.MergeFrom, c.Reason)
		}
	}
	if recall := float64(correct) / float64(truth.Pairs()); recall < 0.9 {
		t.Errorf("recall %.3f (%d of %d planted pairs)", recall, correct, truth.Pairs())
	}
}

func TestSettings(t *testing.T) {
	d := detecttest.MustDetector(t, Name, New, "objects: [contacts]\nmin_confidence: 0.9\nsource: dedupe-v2\ncontacts:\n  identifiers: [ssn]\n  fields: {address2: address, nickname: name}\nsurvivorship:\n  values: fill_empty").(*Detector)
	if !reflect.DeepEqual(d.objects, []string{"contacts"}) || d.min != 0.9 || d.source != "dedupe-v2" {
		t.Errorf("settings: %+v", d)
	}
	f := d.config["contacts"].fields
	if f[len(f)-3] != (fieldSpec{"ssn", kindID}) || f[len(f)-2] != (fieldSpec{"address2", kindAddress}) || f[len(f)-1] != (fieldSpec{"nickname", kindName}) {
		t.Errorf("fields %v", f)
	}
	for _, tc := range []struct{ settings, want string }{
		{"objects: [deals]", `crmops.yaml: detectors.dedupe.objects: "deals" is not supported`},
		{"objects: []", "detectors.dedupe.objects: empty list"},
		{"min_confidence: 1.5", "detectors.dedupe.min_confidence: 1.5 is outside (0, 1]"},
		{"threshold: 0.9", "crmops.yaml:5"},
		{"contacts:\n  fields:\n    address2: fuzzy", `crmops.yaml:7: detectors.dedupe.contacts.fields.address2: "fuzzy" is not a comparison type`},
		{"contacts:\n  identifiers: [ssn]\n  fields: {ssn: exact}", "crmops.yaml:7: detectors.dedupe.contacts.fields.ssn: listed twice"},
		{"companies:\n  fields: [a, b]", "crmops.yaml:6: detectors.dedupe.companies.fields: want a map"},
		{"contacts:\n  identifiers: ssn", "crmops.yaml:6"},
		{"contacts:\n  colour: red", "crmops.yaml:6"},
		{"survivorship:\n  values: maybe", "crmops.yaml:6"},
	} {
		if _, err := detecttest.NewDetector(t, Name, New, tc.settings); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("settings %q: error %v, want it to contain %q", tc.settings, err, tc.want)
		}
	}
	var none *yaml.Node
	if _, err := New("crmops.yaml", none); err != nil {
		t.Errorf("no settings: %v", err)
	}
}

// A CRM of a handful of records has too little data for EM: the priors
// of the kinds table carry the model, and the obvious merges are made.
func TestTinyCRMGetsItsObviousMergesAndNoWrongOnes(t *testing.T) {
	t.Run("five contacts, one of them twice", func(t *testing.T) {
		recs := []crm.Record{
			rec("1", "email", "ann.lee@acme.io", "firstname", "Ann", "lastname", "Lee"),
			rec("2", "email", "ANN.LEE@acme.io", "firstname", "Ann", "lastname", "Lee"),
			rec("3", "email", "bo@beta.io", "firstname", "Bo", "lastname", "Ray"),
			rec("4", "email", "zed@gamma.io", "firstname", "Zed", "lastname", "Moon"),
			rec("5", "email", "cy@delta.io", "firstname", "Cy", "lastname", "Dee"),
		}
		wantMerges(t, run(t, crmWith(t, recs, nil), "objects: [contacts]"), "contacts 1 <- 2")
	})
	t.Run("twelve contacts with duplicates and look-alikes", func(t *testing.T) {
		recs := []crm.Record{
			// Duplicates: a nickname on one phone, an email typo.
			rec("1", "email", "robert.fox@acme.io", "firstname", "Robert", "lastname", "Fox", "phone", "+1 415 555 0101", "company", "Acme"),
			rec("2", "email", "bob.fox@gmail.com", "firstname", "Bob", "lastname", "Fox", "phone", "(415) 555-0101"),
			rec("3", "email", "maria.lopez@globex.com", "firstname", "Maria", "lastname", "Lopez", "company", "Globex"),
			rec("4", "email", "maria.lopze@globex.com", "firstname", "Maria", "lastname", "Lopez", "company", "Globex"),
			// Look-alikes: Daniel and Daniela on one line; two colleagues
			// on a switchboard; a shared role mailbox; namesakes.
			rec("5", "email", "daniel.gupta@initech.com", "firstname", "Daniel", "lastname", "Gupta", "phone", "+1 212 555 0100", "company", "Initech"),
			rec("6", "email", "daniela.gupta@initech.com", "firstname", "Daniela", "lastname", "Gupta", "phone", "+1 212 555 0100", "company", "Initech"),
			rec("7", "email", "kim@initech.com", "firstname", "Kim", "lastname", "Berg", "phone", "+1 212 555 0100", "company", "Initech"),
			rec("8", "email", "info@initech.com", "phone", "+1 212 555 0100", "company", "Initech"),
			rec("9", "email", "info@initech.com", "firstname", "Lars", "lastname", "Holm", "company", "Initech"),
			rec("10", "email", "john.smith@umbrella.com", "firstname", "John", "lastname", "Smith", "company", "Umbrella"),
			rec("11", "email", "jsmith@hooli.com", "firstname", "John", "lastname", "Smith", "company", "Hooli"),
			rec("12", "email", "zoe.chan@hooli.com", "firstname", "Zoe", "lastname", "Chan", "company", "Hooli"),
		}
		wantMerges(t, run(t, crmWith(t, recs, nil), "objects: [contacts]"), "contacts 1 <- 2", "contacts 3 <- 4")
	})
	t.Run("four companies", func(t *testing.T) {
		cos := []crm.Record{
			rec("1", "name", "Acme, Inc.", "domain", "acme.io", "phone", "+1 415 555 0100", "country", "US"),
			rec("2", "name", "ACME", "domain", "https://www.acme.io/", "country", "US"),
			// One name, two countries, two domains: two companies.
			rec("3", "name", "Globex", "domain", "globex.com", "phone", "+1 212 555 0199", "country", "US"),
			rec("4", "name", "Globex", "domain", "globex.de", "phone", "+49 30 1234567", "country", "DE"),
		}
		wantMerges(t, run(t, crmWith(t, nil, cos), "objects: [companies]"), "companies 1 <- 2")
	})
}

// verdict is what the model says of records a and b of obj.
type verdict struct {
	prob, weight float64
	veto, reason string
}

func judgePair(t *testing.T, db crm.Connector, settings, obj, a, b string) verdict {
	t.Helper()
	d := detecttest.MustDetector(t, Name, New, settings).(*Detector)
	l, _, err := d.link(t.Context(), detecttest.EnvFor(db), obj, &detect.Result{}, &Report{})
	if err != nil {
		t.Fatal(err)
	}
	i, j := -1, -1
	for k := range l.t.len() {
		id := l.t.id(int32(k))
		switch id {
		case a:
			i = k
		case b:
			j = k
		}
	}
	if i < 0 || j < 0 {
		t.Fatalf("records %s and %s not read", a, b)
	}
	p := l.t.pattern(l.md.comps, i, j)
	w := l.md.score(l.t, p, i, j)
	return verdict{prob(w), w, l.md.veto(p, l.needIdentity), l.explain(i, j)}
}

// Each veto keeps apart a pair whose weights alone would merge it, and
// gives way where the package doc says it does.
func TestVetoes(t *testing.T) {
	withID := "contacts:\n  identifiers: [ssn]"
	cases := []struct {
		name, settings, object string
		a, b                   crm.Record
		veto                   string // "" when the pair must merge
	}{
		{"two given names that are not one name's forms keep two people apart", "", "contacts",
			rec("x1", "email", "daniel.gupta@acme.io", "firstname", "Daniel", "lastname", "Gupta", "company", "c-1", "phone", "+44 20 7946 0958"),
			rec("x2", "email", "daniel.gupta@acme.io", "firstname", "Daniela", "lastname", "Gupta", "company", "c-1", "phone", "020 7946 0958"),
			"firstname other form of the name"},
		{"two different given names on a family mailbox and phone are two people", "", "contacts",
			rec("x1", "email", "thesmiths@gmail.com", "firstname", "Malik", "lastname", "Smith", "phone", "+1 415 555 0199", "address", "12 Oak Lane", "zip", "94607"),
			rec("x2", "email", "the.smiths@gmail.com", "firstname", "Zofia", "lastname", "Smith", "phone", "+1 415 555 0199", "address", "12 Oak Lane", "zip", "94607"),
			"firstname different"},
		{"different given names merge when an identifier agrees", withID, "contacts",
			rec("x1", "firstname", "Daniel", "lastname", "Gupta", "date_of_birth", "19800101", "zip", "2776", "ssn", "6988048"),
			rec("x2", "firstname", "Sam", "lastname", "Gupta", "date_of_birth", "19800101", "zip", "2776", "ssn", "6988048"),
			""},
		{"different last names without an agreeing email keep two people apart", "", "contacts",
			rec("x1", "firstname", "Anna", "lastname", "Kim", "company", "c-1", "mobilephone", "+1 415 555 0123", "address", "12 Oak Lane", "city", "Oakland", "zip", "94607"),
			rec("x2", "firstname", "Anna", "lastname", "Park", "company", "c-1", "mobilephone", "+1 415 555 0123", "address", "12 Oak Lane", "city", "Oakland", "zip", "94607"),
			"lastname different"},
		{"different last names merge when the email agrees (a new married name)", "", "contacts",
			rec("x1", "email", "anna.kim@acme.io", "firstname", "Anna", "lastname", "Kim", "company", "c-1", "phone", "+1 415 555 0000"),
			rec("x2", "email", "anna.kim@acme.io", "firstname", "Anna", "lastname", "Park", "company", "c-1", "phone", "+1 415 555 0000"),
			""},
		{"different last names merge when an identifier agrees", withID, "contacts",
			rec("x1", "firstname", "Anna", "lastname", "Kim", "date_of_birth", "19800101", "zip", "2776", "ssn", "6988048"),
			rec("x2", "firstname", "Anna", "lastname", "Park", "date_of_birth", "19800101", "zip", "2776", "ssn", "6988048"),
			""},
		{"contacts sharing only a switchboard, an employer and a city are not one person", "", "contacts",
			rec("x1", "email", "info@acme.io", "firstname", "Olivia", "company", "Acme", "phone", "+1 415 555 0000", "city", "Oakland", "address", "1 Main St"),
			rec("x2", "email", "info@acme.io", "lastname", "Byrne", "company", "Acme", "phone", "+1 415 555 0000", "city", "Oakland", "address", "1 Main St"),
			"nothing that identifies the person agrees"},
		{"companies at other house numbers are other sites", "objects: [companies]", "companies",
			rec("x1", "name", "Sunrise Learning Center", "domain", "sunrise.org", "phone", "+1 312 555 0100", "address", "2140 W 79th St", "zip", "60620", "country", "US"),
			rec("x2", "name", "Sunrise Learning Center", "domain", "sunrise.org", "phone", "+1 312 555 0100", "address", "2141 W 79th St", "zip", "60620", "country", "US"),
			"address other house number"},
		{"companies at one house number with the name and phone merge", "objects: [companies]", "companies",
			rec("x1", "name", "Sunrise Learning Center", "phone", "+1 312 555 0100", "address", "2140 W 79th St", "zip", "60620", "country", "US"),
			rec("x2", "name", "Sunrise Learning Center", "phone", "+1 312 555 0100", "address", "2140 W. 79th Street, 1st floor", "zip", "60620", "country", "US"),
			""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var db crm.Connector
			if tc.object == "companies" {
				var cos []crm.Record
				for i := range 200 {
					cos = append(cos, rec(fmt.Sprintf("b%d", i), "name", fmt.Sprintf("Bright %d Academy", i), "phone", fmt.Sprintf("+1 773 %03d %04d", 200+i, 1000+i*37), "address", fmt.Sprintf("%d W %dth St", 100+i, i%90+4), "zip", fmt.Sprintf("606%02d", i%50), "country", "US"))
				}
				db = crmWith(t, nil, append(cos, tc.a, tc.b))
			} else {
				db = crmWith(t, append(background(300, tc.settings != ""), tc.a, tc.b), nil)
			}
			v := judgePair(t, db, tc.settings, tc.object, "x1", "x2")
			if v.veto != tc.veto {
				t.Fatalf("veto %q, want %q: %s", v.veto, tc.veto, v.reason)
			}
			// The veto, not the weights, decides: without it the pair
			// would merge.
			if v.prob < 0.8 {
				t.Errorf("probability %.2f: the pair would not merge without the veto either: %s", v.prob, v.reason)
			}
			res := run(t, db, tc.settings)
			if tc.veto == "" {
				wantMerges(t, res, tc.object+" x1 <- x2")
			} else {
				wantMerges(t, res)
			}
		})
	}
}
