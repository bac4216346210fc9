package dedupe

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/seed"
)

// rec builds a record from id and field/value pairs.
func rec(id string, kv ...string) crm.Record {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	return crm.Record{ID: id, Fields: f}
}

// crmWith opens an embedded CRM in a temporary directory holding recs.
func crmWith(t *testing.T, contacts, companies []crm.Record) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for obj, recs := range map[string][]crm.Record{"contacts": contacts, "companies": companies} {
		if len(recs) > 0 {
			if _, _, err := db.Upsert(t.Context(), obj, recs, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return db
}

// run runs the detector with settings (YAML, "" for none) and checks that
// every change is valid.
func run(t *testing.T, db crm.Connector, settings string) *detect.Result {
	t.Helper()
	var node *yaml.Node
	if settings != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(settings), &doc); err != nil {
			t.Fatal(err)
		}
		node = doc.Content[0]
	}
	d, err := New("crmops.yaml", node)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Detect(t.Context(), detect.Env{CRM: db, Dir: t.TempDir(), Progress: detect.NoProgress{}})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range res.Changes {
		c.ID = fmt.Sprintf("c%d", i+1)
		if err := c.Validate(""); err != nil {
			t.Errorf("change %d (%s <- %s) is invalid: %v", i+1, c.Record, c.MergeFrom, err)
		}
		if c.Kind != "dedupe" || c.Op != batch.OpMerge || c.Trigger != "rule" || c.Source != "dedupe" && !strings.Contains(settings, "source") {
			t.Errorf("change %d: kind %s, op %s, trigger %s, source %s", i+1, c.Kind, c.Op, c.Trigger, c.Source)
		}
	}
	return res
}

// merges lists changes as "object survivor <- loser".
func merges(res *detect.Result) []string {
	out := []string{}
	for _, c := range res.Changes {
		out = append(out, c.Object+" "+c.Record+" <- "+c.MergeFrom)
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

func TestEmailCaseDuplicate(t *testing.T) {
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "ann.lee@acme.io", "firstname", "Ann", "lastname", "Lee", "company", "c-0042", "jobtitle", "CTO", "phone", "+1 (415) 555-0100", "created", "2024-01-02T10:00:00Z"),
		rec("1002", "email", " Ann.Lee@ACME.io ", "firstname", "ann", "lastname", "lee", "company", "c-0042", "email_status", "valid", "created", "2024-03-02T10:00:00Z"),
	}, nil)
	res := run(t, db, "")
	wantMerges(t, res, "contacts 1001 <- 1002")
	if len(res.Changes) != 1 {
		return
	}
	c := res.Changes[0]
	if c.Confidence != 0.99 {
		t.Errorf("confidence %v, want 0.99", c.Confidence)
	}
	for _, want := range []string{"same email ann.lee@acme.io (spaces differ; case differs)", "names Ann Lee / ann lee (equal, 1.00)", "same company c-0042"} {
		if !strings.Contains(c.Reason, want) {
			t.Errorf("reason %q lacks %q", c.Reason, want)
		}
	}
	// The snapshot is the loser's every non-empty field, as stored,
	// including fields dedupe does not compare.
	want := map[string]string{"email": " Ann.Lee@ACME.io ", "firstname": "ann", "lastname": "lee", "company": "c-0042", "email_status": "valid", "created": "2024-03-02T10:00:00Z"}
	if !reflect.DeepEqual(c.Snapshot, want) {
		t.Errorf("snapshot %v, want %v", c.Snapshot, want)
	}
}

func TestGmailDuplicate(t *testing.T) {
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "anna.berg@gmail.com", "firstname", "Anna", "lastname", "Berg"),
		rec("1002", "email", "annaberg+crm@googlemail.com", "firstname", "Anna", "lastname", "Berg"),
		rec("1003", "email", "annaberg@yahoo.com", "firstname", "Anna", "lastname", "Berg"),
	}, nil)
	res := run(t, db, "")
	wantMerges(t, res, "contacts 1001 <- 1002")
	if len(res.Changes) == 1 && !strings.Contains(res.Changes[0].Reason, "same email annaberg@gmail.com (Gmail dots/+tag differ)") {
		t.Errorf("reason %q", res.Changes[0].Reason)
	}
}

func TestNicknameDuplicate(t *testing.T) {
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "robert.smith@acme.io", "firstname", "Robert", "lastname", "Smith", "company", "c-1", "phone", "+1 (415) 555-0100"),
		rec("1002", "email", "bob.smith@acme.io", "firstname", "Bob", "lastname", "Smith", "company", "c-1", "phone", "415.555.0100", "jobtitle", "VP Sales"),
		// The same nickname at another company, on another phone.
		rec("1003", "email", "bob.smith@other.io", "firstname", "Bob", "lastname", "Smith", "company", "c-2", "phone", "212 555 0199"),
	}, nil)
	res := run(t, db, "")
	wantMerges(t, res, "contacts 1002 <- 1001")
	if len(res.Changes) == 1 {
		c := res.Changes[0]
		if c.Confidence != 0.94 || !strings.Contains(c.Reason, "same phone 415.555.0100 / +1 (415) 555-0100") || !strings.Contains(c.Reason, "(nickname,") {
			t.Errorf("confidence %v, reason %q", c.Confidence, c.Reason)
		}
	}
}

func TestTypoDuplicate(t *testing.T) {
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "jonathan.weber@acme.io", "firstname", "Jonathan", "lastname", "Weber", "company", "c-1"),
		rec("1002", "email", "jonathan.weber@acme.io", "firstname", "Jonathan", "lastname", "Webber", "company", "c-1"),
		rec("1003", "email", "priya.patel@acme.io", "firstname", "Priya", "lastname", "Patel", "company", "c-1"),
		rec("1004", "email", "Priya.Patel@acme.io", "firstname", "Pryia", "lastname", "Patel", "company", "c-1"),
	}, nil)
	res := run(t, db, "")
	wantMerges(t, res, "contacts 1001 <- 1002", "contacts 1003 <- 1004")
	if len(res.Changes) == 2 {
		if r := res.Changes[0].Reason; !strings.Contains(r, "one typo in the last name") {
			t.Errorf("reason %q", r)
		}
		if r := res.Changes[1].Reason; !strings.Contains(r, "one typo in the first name") {
			t.Errorf("reason %q", r)
		}
	}
	// A stricter threshold drops typo matches (about 0.94) but keeps exact ones.
	wantMerges(t, run(t, db, "min_confidence: 0.95"))
}

func TestCompanyDuplicates(t *testing.T) {
	db := crmWith(t, nil, []crm.Record{
		rec("c-1", "name", "Acme", "domain", "acme.io", "country", "United States", "industry", "Software", "employees", "40"),
		rec("c-2", "name", "Acme Inc.", "domain", "https://www.acme.io/", "country", "United States"),
		rec("c-3", "name", "ACME, Inc.", "domain", "www.Acme.io", "employees", "41"),
		rec("c-4", "name", "Northwind Labs", "domain", "northwind.com", "country", "Germany"),
		rec("c-5", "name", "Northwind Labs GmbH", "country", "Germany"),
		// Namesakes: same name, own domains.
		rec("c-6", "name", "Summit Capital", "domain", "summitcapital.com", "country", "United States"),
		rec("c-7", "name", "Summit Capital Ltd", "domain", "summitcapital.co.uk", "country", "United Kingdom"),
		// Two companies on a free-mail domain are not one.
		rec("c-8", "name", "Joe's Plumbing", "domain", "gmail.com"),
		rec("c-9", "name", "Ann's Bakery", "domain", "gmail.com"),
	})
	res := run(t, db, "objects: [companies]")
	wantMerges(t, res, "companies c-1 <- c-2", "companies c-1 <- c-3", "companies c-4 <- c-5")
	for _, c := range res.Changes {
		if c.MergeFrom == "c-2" && (!strings.Contains(c.Reason, "same domain acme.io (acme.io / https://www.acme.io/)") || c.Confidence != 0.99) {
			t.Errorf("c-2: %v %q", c.Confidence, c.Reason)
		}
		if c.MergeFrom == "c-5" && (c.Confidence != 0.86 || !strings.Contains(c.Reason, "domain missing on one")) {
			t.Errorf("c-5: %v %q", c.Confidence, c.Reason)
		}
	}
}

func TestHardNegativesAreNotMerged(t *testing.T) {
	db := crmWith(t, []crm.Record{
		// Common names at different companies.
		rec("1001", "email", "john.smith@acme.io", "firstname", "John", "lastname", "Smith", "company", "c-1", "phone", "+1 415 555 0101"),
		rec("1002", "email", "john.smith@globex.com", "firstname", "John", "lastname", "Smith", "company", "c-2", "phone", "+1 212 555 0102"),
		// Colleagues with one last name, on the switchboard.
		rec("1003", "email", "anna.lee@acme.io", "firstname", "Anna", "lastname", "Lee", "company", "c-1", "phone", "+1 (415) 555-0000"),
		rec("1004", "email", "mark.lee@acme.io", "firstname", "Mark", "lastname", "Lee", "company", "c-1", "phone", "415-555-0000"),
		// Twins by name: Daniel and Daniela on one line.
		rec("1005", "email", "daniel.gupta@acme.io", "firstname", "Daniel", "lastname", "Gupta", "company", "c-1", "phone", "020 7946 0958"),
		rec("1006", "email", "daniela.gupta@acme.io", "firstname", "Daniela", "lastname", "Gupta", "company", "c-1", "phone", "+44 20 7946 0958"),
		// A family mailbox.
		rec("1007", "email", "thesmiths@gmail.com", "firstname", "Malik", "lastname", "Smith"),
		rec("1008", "email", "the.smiths@gmail.com", "firstname", "Zofia", "lastname", "Smith"),
		// Role addresses: different people, or nobody named.
		rec("1009", "email", "info@acme.io", "firstname", "Olivia", "lastname", "Byrne", "company", "c-1"),
		rec("1010", "email", "info@acme.io", "firstname", "Olivia", "lastname", "Suzuki", "company", "c-1"),
		rec("1011", "email", "INFO@acme.io", "company", "c-1"),
		rec("1012", "email", "sales@acme.io", "company", "c-1"),
		rec("1013", "email", "sales@globex.com", "company", "c-2"),
	}, nil)
	wantMerges(t, run(t, db, ""))
}

func TestRoleAddressNeedsAgreeingNames(t *testing.T) {
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "info@acme.io", "firstname", "Olivia", "lastname", "Byrne", "company", "c-1", "jobtitle", "CEO"),
		rec("1002", "email", "Info@Acme.io", "firstname", "Olivia", "lastname", "Byrne", "company", "c-1"),
		rec("1003", "email", "info@acme.io", "company", "c-1"),
	}, nil)
	res := run(t, db, "")
	wantMerges(t, res, "contacts 1001 <- 1002")
	if len(res.Changes) == 1 && (res.Changes[0].Confidence != 0.88 || !strings.Contains(res.Changes[0].Reason, "role address")) {
		t.Errorf("%v %q", res.Changes[0].Confidence, res.Changes[0].Reason)
	}
}

func TestTransitiveGroupHasOneSurvivor(t *testing.T) {
	// Margaret and Maargaret share an email; Margaret and Peggy share a
	// phone. Peggy has the most fields and survives; Maargaret matches her
	// only through Margaret.
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "margaret.harris@larkgrid.io", "firstname", "Margaret", "lastname", "Harris", "company", "c-99", "phone", "+1 (646) 714-3570"),
		rec("1002", "email", "peggy.harris@larkgrid.io", "firstname", "Peggy", "lastname", "Harris", "company", "c-99", "phone", "6467143570", "jobtitle", "Recruiter"),
		rec("1003", "email", "margaret.harris@larkgrid.io", "firstname", "Maargaret", "lastname", "Harris", "company", "c-99"),
	}, nil)
	res := run(t, db, "")
	wantMerges(t, res, "contacts 1002 <- 1001", "contacts 1002 <- 1003")
	if len(res.Changes) != 2 {
		return
	}
	direct, via := res.Changes[0], res.Changes[1]
	if direct.Confidence != 0.94 || strings.Contains(direct.Reason, "via") {
		t.Errorf("direct: %v %q", direct.Confidence, direct.Reason)
	}
	// The weakest link on the path: the typo match (0.94 - a little).
	if via.Confidence > direct.Confidence || !strings.Contains(via.Reason, "via 1001, which matches the survivor (0.94)") {
		t.Errorf("via: %v %q", via.Confidence, via.Reason)
	}
}

func TestTwoTypoCopiesJoinOneSurvivor(t *testing.T) {
	// Each copy is one typo from the original and two from each other.
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "kavya_romero@elmhaven.co", "firstname", "Kavya", "lastname", "Romero", "jobtitle", "PM", "phone", "213-239-3922"),
		rec("1002", "email", "kavya_romero@elmhaven.co", "firstname", "Kavya", "lastname", "Rpmero", "jobtitle", "PM", "phone", "213-239-3922"),
		rec("1003", "email", "kavya_romero@elmhaven.co", "firstname", "Kavya", "lastname", "Ronero"),
	}, nil)
	wantMerges(t, run(t, db, ""), "contacts 1001 <- 1002", "contacts 1001 <- 1003")
}

func TestWeakLinksDoNotChainPeople(t *testing.T) {
	// Chris shares a phone with Christopher and an email with Christina:
	// either may be Chris, but Christopher and Christina are two people, so
	// only the stronger link is merged.
	chris := rec("1002", "email", "chris.park@acme.io", "firstname", "Chris", "lastname", "Park", "company", "c-1", "phone", "+1 (415) 555-0177", "jobtitle", "CFO", "owner", "o-1")
	db := crmWith(t, []crm.Record{
		rec("1001", "email", "christopher.park@acme.io", "firstname", "Christopher", "lastname", "Park", "company", "c-1", "phone", "415.555.0177"),
		chris,
		rec("1003", "email", "chris.park@acme.io", "firstname", "Christina", "lastname", "Park", "company", "c-1"),
	}, nil)
	wantMerges(t, run(t, db, ""), "contacts 1002 <- 1003")

	// With Christopher as the survivor, Christina could only join through
	// Chris, and her name contradicts his.
	db = crmWith(t, []crm.Record{
		rec("1001", "email", "christopher.park@acme.io", "firstname", "Christopher", "lastname", "Park", "company", "c-1", "phone", "415.555.0177", "jobtitle", "CFO", "owner", "o-1", "lifecyclestage", "lead"),
		rec("1002", "email", "chris.park@acme.io", "firstname", "Chris", "lastname", "Park", "company", "c-1", "phone", "+1 (415) 555-0177"),
		rec("1003", "email", "chris.park@acme.io", "firstname", "Christina", "lastname", "Park", "company", "c-1"),
	}, nil)
	wantMerges(t, run(t, db, ""), "contacts 1001 <- 1002")
}

func TestSurvivorRule(t *testing.T) {
	cases := []struct {
		name string
		recs []crm.Record
		want string
	}{
		{"most non-empty fields wins, even when newer", []crm.Record{
			rec("1001", "email", "a@x.io", "firstname", "Ann", "created", "2020-01-01T00:00:00Z"),
			rec("1002", "email", "a@x.io", "firstname", "Ann", "jobtitle", "CEO", "created", "2024-01-01T00:00:00Z"),
		}, "contacts 1002 <- 1001"},
		{"then the oldest created", []crm.Record{
			rec("1001", "email", "a@x.io", "firstname", "Ann", "created", "2024-01-01T00:00:00Z"),
			rec("1002", "email", "a@x.io", "firstname", "Ann", "created", "2023-06-01T09:00:00+02:00"),
		}, "contacts 1002 <- 1001"},
		{"then the lowest id, by number", []crm.Record{
			rec("1000", "email", "a@x.io", "firstname", "Ann"),
			rec("999", "email", "a@x.io", "firstname", "Ann"),
		}, "contacts 999 <- 1000"},
		{"a record without created time is the newest", []crm.Record{
			rec("1001", "email", "a@x.io", "firstname", "Ann", "lastname", "Lee"),
			rec("1002", "email", "a@x.io", "firstname", "Ann", "created", "2024-01-01T00:00:00Z"),
		}, "contacts 1002 <- 1001"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantMerges(t, run(t, crmWith(t, tc.recs, nil), ""), tc.want)
		})
	}
}

func TestOversizedBlockIsSplitAndReported(t *testing.T) {
	// 60 colleagues named Lee on one switchboard: too many to compare
	// pairwise. Two of them are one person (same first name), found inside
	// the split block.
	var recs []crm.Record
	for i := range 60 {
		recs = append(recs, rec(fmt.Sprint(2000+i), "firstname", fmt.Sprintf("Person%c%c", 'a'+i/26, 'a'+i%26), "lastname", "Lee", "company", "c-1", "phone", "+1 (415) 555-0000"))
	}
	recs = append(recs, rec("2100", "firstname", "Personaa", "lastname", "Lee", "company", "c-1", "phone", "415 555 0000", "jobtitle", "CTO"))
	res := run(t, crmWith(t, recs, nil), "")
	wantMerges(t, res, "contacts 2100 <- 2000")
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].String(), "phone 4155550000 with last name lee (61 records, 0 not compared)") {
		t.Errorf("skipped: %v", res.Skipped)
	}

	// 55 records on one address with one name are too many even after the
	// split: none is compared, and the report says so.
	recs = nil
	for i := range 55 {
		recs = append(recs, rec(fmt.Sprint(3000+i), "email", "noreply@example.com", "firstname", "Web", "lastname", "Form"))
	}
	res = run(t, crmWith(t, recs, nil), "")
	wantMerges(t, res)
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].String(), "email noreply@example.com (55 records, 55 not compared)") ||
		!strings.Contains(res.Skipped[0].Reason, "some records left uncompared") {
		t.Errorf("skipped: %v", res.Skipped)
	}
}

func TestDetectIsDeterministic(t *testing.T) {
	db := crmWith(t, nil, nil)
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
	// And on a small seeded CRM the planted duplicates are found.
	group := map[string]int{}
	for i, g := range truth.Groups {
		for _, id := range g.IDs {
			group[g.Object+"/"+id] = i + 1
		}
	}
	correct := 0
	for _, c := range a.Changes {
		if g := group[c.Object+"/"+c.Record]; g != 0 && g == group[c.Object+"/"+c.MergeFrom] {
			correct++
		} else {
			t.Errorf("wrong merge %s <- %s: %s", c.Record, c.MergeFrom, c.Reason)
		}
	}
	if recall := float64(correct) / float64(truth.Pairs()); recall < 0.95 {
		t.Errorf("recall %.3f (%d of %d planted pairs)", recall, correct, truth.Pairs())
	}
}

func TestSettings(t *testing.T) {
	parse := func(s string) *yaml.Node {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Content[0]
	}
	d, err := New("crmops.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*Detector); !reflect.DeepEqual(got.objects, []string{"contacts", "companies"}) || got.min != 0.8 || got.source != "dedupe" || d.Name() != "dedupe" {
		t.Errorf("defaults: %+v", got)
	}
	d, err = New("crmops.yaml", parse("{objects: [companies], min_confidence: 0.9, source: dedupe-v2}"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*Detector); !reflect.DeepEqual(got.objects, []string{"companies"}) || got.min != 0.9 || got.source != "dedupe-v2" {
		t.Errorf("set: %+v", got)
	}
	for _, bad := range []string{
		"{objects: [deals]}",
		"{objects: []}",
		"{objects: [contacts, contacts]}",
		"{min_confidence: 0}",
		"{min_confidence: 1.5}",
		`{min_confidence: "high"}`,
		"{threshold: 0.9}",
	} {
		if _, err := New("crmops.yaml", parse(bad)); err == nil {
			t.Errorf("settings %s accepted", bad)
		} else if !strings.Contains(err.Error(), "crmops.yaml") {
			t.Errorf("settings %s: error %q does not name the file", bad, err)
		}
	}
}
