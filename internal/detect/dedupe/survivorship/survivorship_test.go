package survivorship_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/detect/dedupe/survivorship"
)

// rules decodes the survivorship section of a crmops.yaml written as text
// (nothing but the section: "survivor: [...]\nvalues: ...").
func rules(t *testing.T, section string) *survivorship.Rules {
	t.Helper()
	r, err := survivorship.New("crmops.yaml", node(t, section))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// node is the survivorship node of a crmops.yaml holding section, with
// lines counted from the file's first line (version: 1).
func node(t *testing.T, section string) *yaml.Node {
	t.Helper()
	text := "version: 1\ndetectors:\n  dedupe:\n    survivorship:\n"
	for _, line := range strings.Split(section, "\n") {
		text += "      " + line + "\n"
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	n := doc.Content[0]
	for _, key := range []string{"detectors", "dedupe", "survivorship"} {
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("no %s in\n%s", key, text)
		}
		n = next
	}
	return n
}

// rec builds a record from id and field/value pairs.
func rec(id string, kv ...string) survivorship.Record {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	return survivorship.Record{ID: id, Fields: f}
}

func ids(group []survivorship.Record) string {
	var out []string
	for _, r := range group {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

// permutations calls fn with every order of group.
func permutations(group []survivorship.Record, fn func([]survivorship.Record)) {
	var perm func(k int)
	g := slices.Clone(group)
	perm = func(k int) {
		if k == len(g) {
			fn(slices.Clone(g))
			return
		}
		for i := k; i < len(g); i++ {
			g[k], g[i] = g[i], g[k]
			perm(k + 1)
			g[k], g[i] = g[i], g[k]
		}
	}
	perm(0)
}

func TestTheSurvivor(t *testing.T) {
	tests := []struct {
		name     string
		settings string // the survivorship section; "" for the defaults
		group    []survivorship.Record
		want     string
	}{
		{"by default the record with the most filled fields survives", "", []survivorship.Record{
			rec("1001", "email", "ann@acme.io", "created", "2020-01-01T00:00:00Z"),
			rec("1002", "email", "ann@acme.io", "jobtitle", "CTO", "created", "2024-01-01T00:00:00Z"),
		}, "1002"},
		{"with as many fields filled, the oldest created survives", "", []survivorship.Record{
			rec("1001", "email", "ann@acme.io", "created", "2024-01-01T00:00:00Z"),
			rec("1002", "email", "ann@acme.io", "created", "2023-06-01T09:00:00+02:00"),
		}, "1002"},
		{"created times in other zones compare as instants", "", []survivorship.Record{
			rec("1001", "email", "a@x.io", "created", "2024-01-01T08:00:00+02:00"), // 06:00Z
			rec("1002", "email", "a@x.io", "created", "2024-01-01T07:00:00Z"),
		}, "1001"},
		{"a record without a created time counts as the newest", "", []survivorship.Record{
			rec("1001", "email", "a@x.io"),
			rec("1002", "email", "a@x.io", "created", "2024-01-01T00:00:00Z"),
		}, "1002"},
		{"an unreadable created time counts as none", "", []survivorship.Record{
			rec("1001", "email", "a@x.io", "created", "last tuesday"),
			rec("1002", "email", "a@x.io", "created", "2024-01-01T00:00:00Z"),
		}, "1002"},
		{"HubSpot's createdate is the created time", "", []survivorship.Record{
			rec("51", "email", "a@x.io", "createdate", "2024-05-01T00:00:00.000Z"),
			rec("52", "email", "a@x.io", "createdate", "2021-05-01T00:00:00.000Z"),
		}, "52"},
		{"timestamps do not count as filled fields", "", []survivorship.Record{
			rec("1001", "email", "a@x.io", "created", "2024-01-01T00:00:00Z", "updated", "2024-02-01T00:00:00Z", "source", "import"),
			rec("1002", "email", "a@x.io", "created", "2023-01-01T00:00:00Z"),
		}, "1002"},
		{"blank values do not count as filled fields", "", []survivorship.Record{
			rec("1001", "email", "a@x.io", "jobtitle", "  ", "created", "2024-01-01T00:00:00Z"),
			rec("1002", "email", "a@x.io", "created", "2023-01-01T00:00:00Z"),
		}, "1002"},
		{"when every rule ties, the lowest id survives, 9 before 10", "", []survivorship.Record{
			rec("10", "email", "a@x.io"),
			rec("9", "email", "a@x.io"),
			rec("11", "email", "a@x.io"),
		}, "9"},
		{"ids with a prefix compare by their number", "", []survivorship.Record{
			rec("C-10", "email", "a@x.io"),
			rec("C-9", "email", "a@x.io"),
		}, "C-9"},
		{"most_recent first: the record updated last survives", "survivor: [most_recent, most_complete]", []survivorship.Record{
			rec("1001", "email", "a@x.io", "jobtitle", "CTO", "updated", "2023-01-01T00:00:00Z"),
			rec("1002", "email", "a@x.io", "updated", "2025-01-01T00:00:00Z"),
		}, "1002"},
		{"HubSpot's lastmodifieddate is the updated time", "survivor: [most_recent]", []survivorship.Record{
			rec("51", "lastmodifieddate", "2025-01-01T00:00:00Z"),
			rec("52", "lastmodifieddate", "2025-03-01T00:00:00Z"),
		}, "52"},
		{"a record never updated loses most_recent to one that was", "survivor: [most_recent]", []survivorship.Record{
			rec("1001", "email", "a@x.io"),
			rec("1002", "email", "a@x.io", "updated", "2020-01-01"),
		}, "1002"},
		{"oldest first: the oldest survives with fewer fields", "survivor: [oldest, most_complete]", []survivorship.Record{
			rec("1001", "email", "a@x.io", "jobtitle", "CTO", "phone", "555", "created", "2024-01-01T00:00:00Z"),
			rec("1002", "email", "a@x.io", "created", "2019-01-01T00:00:00Z"),
		}, "1002"},
		{"source first: the record from that source survives with fewer fields", "survivor: [{source: salesforce}, most_complete]", []survivorship.Record{
			rec("1001", "email", "a@x.io", "jobtitle", "CTO", "phone", "555", "source", "webform"),
			rec("1002", "email", "a@x.io", "source", "Salesforce"),
		}, "1002"},
		{"a list of sources prefers the first it names", "survivor: [{source: [salesforce, import]}]", []survivorship.Record{
			rec("1001", "source", "webform"),
			rec("1002", "source", "import"),
			rec("1003", "source", "salesforce"),
		}, "1003"},
		{"no record from the source: the next rule decides", "survivor: [{source: salesforce}, oldest]", []survivorship.Record{
			rec("1001", "source", "webform", "created", "2024-01-01T00:00:00Z"),
			rec("1002", "source", "import", "created", "2022-01-01T00:00:00Z"),
		}, "1002"},
		{"HubSpot's record source is the source", "survivor: [{source: IMPORT}]", []survivorship.Record{
			rec("51", "hs_object_source", "CRM_UI"),
			rec("52", "hs_object_source", "IMPORT"),
		}, "52"},
		{"a renamed created field is read instead", "survivor: [oldest]\ncreated_field: signed_up", []survivorship.Record{
			rec("1001", "signed_up", "2024-01-01", "created", "2000-01-01T00:00:00Z"),
			rec("1002", "signed_up", "2023-01-01", "created", "2024-01-01T00:00:00Z"),
		}, "1002"},
		{"Unix milliseconds, seconds and spreadsheet dates are read as times", "survivor: [oldest]", []survivorship.Record{
			rec("1", "created", "1700000000000"), // 2023-11-14
			rec("2", "created", "1600000000"),    // 2020-09-13
			rec("3", "created", "2021-01-01 10:00:00"),
			rec("4", "created", "2022-01-01T10:00:00"),
		}, "2"},
		{"a single tie-breaker needs no list", "survivor: oldest", []survivorship.Record{
			rec("1001", "email", "a@x.io", "jobtitle", "CTO", "created", "2024-01-01T00:00:00Z"),
			rec("1002", "created", "2023-01-01T00:00:00Z"),
		}, "1002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules(t, tt.settings)
			permutations(tt.group, func(g []survivorship.Record) {
				s := r.Survivor(g)
				if s < 0 || g[s].ID != tt.want {
					got := "none"
					if s >= 0 {
						got = g[s].ID
					}
					t.Errorf("group %s: survivor %s, want %s", ids(g), got, tt.want)
				}
			})
		})
	}
	t.Run("an empty group has no survivor", func(t *testing.T) {
		if s := rules(t, "").Survivor(nil); s != -1 {
			t.Errorf("Survivor(nil) = %d, want -1", s)
		}
	})
	t.Run("a group of one is its own survivor", func(t *testing.T) {
		if s := rules(t, "").Survivor([]survivorship.Record{rec("7")}); s != 0 {
			t.Errorf("Survivor = %d, want 0", s)
		}
	})
}

// values renders Values for people: field: before -> after (from, rule).
func values(vs []survivorship.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s: %q -> %q (%s, %s)", v.Field, v.Before, v.After, v.From, v.Rule))
	}
	return out
}

func TestTheValuesTheSurvivorKeeps(t *testing.T) {
	ann := func(id string, kv ...string) survivorship.Record {
		return rec(id, append([]string{"email", "ann@acme.io"}, kv...)...)
	}
	tests := []struct {
		name     string
		settings string
		group    []survivorship.Record
		survivor int
		want     []string
	}{
		{"by default an empty field of the survivor takes the merged record's value", "", []survivorship.Record{
			ann("1001", "firstname", "Ann"), ann("1002", "jobtitle", "CTO"),
		}, 0, []string{`jobtitle: "" -> "CTO" (1002, fill_empty)`}},
		{"by default the survivor's own values stay", "", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales"), ann("1002", "jobtitle", "CTO"),
		}, 0, nil},
		{"fill_empty takes the first other record in group order that has a value", "", []survivorship.Record{
			ann("1001"), ann("1003"), ann("1002", "jobtitle", "CTO"), ann("1004", "jobtitle", "CEO"),
		}, 0, []string{`jobtitle: "" -> "CTO" (1002, fill_empty)`}},
		{"a blank survivor value counts as empty", "", []survivorship.Record{
			ann("1001", "jobtitle", " "), ann("1002", "jobtitle", "CTO"),
		}, 0, []string{`jobtitle: " " -> "CTO" (1002, fill_empty)`}},
		{"a blank value is never chosen", "", []survivorship.Record{
			ann("1001"), ann("1002", "jobtitle", "  "),
		}, 0, nil},
		{"most_recent takes the value of the record updated last", "fields: {jobtitle: most_recent}", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales", "updated", "2023-01-01T00:00:00Z"),
			ann("1002", "jobtitle", "CTO", "updated", "2025-01-01T00:00:00Z"),
			ann("1003", "jobtitle", "Intern", "updated", "2024-01-01T00:00:00Z"),
		}, 0, []string{`jobtitle: "VP Sales" -> "CTO" (1002, most_recent)`}},
		{"most_recent keeps the survivor's value when it was updated last", "fields: {jobtitle: most_recent}", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales", "updated", "2025-06-01T00:00:00Z"),
			ann("1002", "jobtitle", "CTO", "updated", "2025-01-01T00:00:00Z"),
		}, 0, nil},
		{"most_recent skips a newer record without a value", "fields: {jobtitle: most_recent}", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales", "updated", "2023-01-01T00:00:00Z"),
			ann("1002", "updated", "2025-01-01T00:00:00Z"),
			ann("1003", "jobtitle", "CTO", "updated", "2024-01-01T00:00:00Z"),
		}, 0, []string{`jobtitle: "VP Sales" -> "CTO" (1003, most_recent)`}},
		{"most_recent prefers a record updated at all to one never updated", "fields: {jobtitle: most_recent}", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales"), ann("1002", "jobtitle", "CTO", "updated", "2020-01-01"),
		}, 0, []string{`jobtitle: "VP Sales" -> "CTO" (1002, most_recent)`}},
		{"most_recent with no updated times keeps the survivor's value", "fields: {jobtitle: most_recent}", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales"), ann("1002", "jobtitle", "CTO"),
		}, 0, nil},
		{"most_recent reads HubSpot's lastmodifieddate", "values: most_recent", []survivorship.Record{
			rec("51", "phone", "111", "lastmodifieddate", "2024-01-01T00:00:00.000Z"),
			rec("52", "phone", "222", "lastmodifieddate", "2025-01-01T00:00:00.000Z"),
		}, 0, []string{`phone: "111" -> "222" (52, most_recent)`}},
		{"most_complete takes the value that says most", "fields: {firstname: most_complete, phone: most_complete}", []survivorship.Record{
			ann("1001", "firstname", "Bob", "phone", "555-0100"),
			ann("1002", "firstname", "Robert", "phone", "+1 (415) 555-0100"),
		}, 0, []string{`firstname: "Bob" -> "Robert" (1002, most_complete)`, `phone: "555-0100" -> "+1 (415) 555-0100" (1002, most_complete)`}},
		{"most_complete keeps the survivor's value on a tie", "values: most_complete", []survivorship.Record{
			ann("1001", "jobtitle", "CTO"), ann("1002", "jobtitle", "CEO"),
		}, 0, nil},
		{"most_complete fills an empty survivor field", "values: most_complete", []survivorship.Record{
			ann("1001"), ann("1002", "jobtitle", "CTO"),
		}, 0, []string{`jobtitle: "" -> "CTO" (1002, most_complete)`}},
		{"survivor keeps every value of the survivor", "values: survivor", []survivorship.Record{
			ann("1001", "jobtitle", "VP Sales"), ann("1002", "jobtitle", "CTO", "phone", "555"),
		}, 0, nil},
		{"a field's own rule beats the default", "values: survivor\nfields: {phone: fill_empty}", []survivorship.Record{
			ann("1001", "jobtitle", ""), ann("1002", "jobtitle", "CTO", "phone", "555"),
		}, 0, []string{`phone: "" -> "555" (1002, fill_empty)`}},
		{"the survivor need not be the first of the group", "", []survivorship.Record{
			ann("1002", "jobtitle", "CTO"), ann("1001", "firstname", "Ann"),
		}, 1, []string{`jobtitle: "" -> "CTO" (1002, fill_empty)`}},
		{"a value equal to the survivor's is no change", "values: most_recent", []survivorship.Record{
			ann("1001", "updated", "2020-01-01"), ann("1002", "updated", "2025-01-01"),
		}, 0, nil},
		{"ids, timestamps, sources and crmops' own fields are never set", "values: most_recent", []survivorship.Record{
			rec("1001", "updated", "2020-01-01"),
			rec("1002", "updated", "2025-01-01", "id", "1002", "hs_object_id", "1002", "hs_merged_object_ids", "7;8", "merged_into", "9",
				"created", "2020-01-01", "createdate", "2020-01-01", "lastmodifieddate", "2025-01-01", "source", "import", "hs_object_source", "IMPORT",
				"crmops_batch", "b1", "jobtitle", "CTO"),
		}, 0, []string{`jobtitle: "" -> "CTO" (1002, most_recent)`}},
		{"a field name no batch can carry is never set", "", []survivorship.Record{
			rec("1001"), rec("1002", "job title", "CTO", "jobtitle", "CTO"),
		}, 0, []string{`jobtitle: "" -> "CTO" (1002, fill_empty)`}},
		{"values come sorted by field", "", []survivorship.Record{
			rec("1001"), rec("1002", "zip", "10115", "city", "Berlin", "phone", "555"),
		}, 0, []string{`city: "" -> "Berlin" (1002, fill_empty)`, `phone: "" -> "555" (1002, fill_empty)`, `zip: "" -> "10115" (1002, fill_empty)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := values(rules(t, tt.settings).Values(tt.group, tt.survivor))
			if !slices.Equal(got, tt.want) {
				t.Errorf("values\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
	t.Run("a survivor outside the group has no values", func(t *testing.T) {
		r := rules(t, "")
		g := []survivorship.Record{rec("1"), rec("2", "a", "b")}
		if v := r.Values(g, -1); v != nil {
			t.Errorf("Values(g, -1) = %v", v)
		}
		if v := r.Values(g, 2); v != nil {
			t.Errorf("Values(g, 2) = %v", v)
		}
	})
	t.Run("the same group gives the same values every time", func(t *testing.T) {
		r := rules(t, "values: most_complete")
		g := []survivorship.Record{rec("1"), rec("2", "a", "x", "b", "yy", "c", "z"), rec("3", "a", "xx", "b", "y", "d", "w")}
		first := values(r.Values(g, 0))
		for range 50 {
			if got := values(r.Values(g, 0)); !slices.Equal(got, first) {
				t.Fatalf("values changed: %q then %q", first, got)
			}
		}
	})
}

func TestRulesPerObject(t *testing.T) {
	r := rules(t, strings.Join([]string{
		"survivor: [most_complete, oldest]",
		"fields: {jobtitle: most_recent}",
		"companies:",
		"  survivor: [{source: salesforce}]",
		"  values: survivor",
		"  fields: {domain: most_complete}",
	}, "\n"))
	companies := []survivorship.Record{
		rec("1", "name", "Acme", "domain", "acme.io", "phone", "555", "source", "webform"),
		rec("2", "name", "Acme Inc", "domain", "www.acme.io", "source", "salesforce"),
	}
	t.Run("an object's survivor rule replaces the top-level one", func(t *testing.T) {
		if s := r.For("companies").Survivor(companies); companies[s].ID != "2" {
			t.Errorf("survivor %s, want the Salesforce record 2", companies[s].ID)
		}
		if s := r.For("contacts").Survivor(companies); companies[s].ID != "1" {
			t.Errorf("contacts: survivor %s, want the most complete record 1", companies[s].ID)
		}
	})
	t.Run("an object's values and fields apply over the top-level ones", func(t *testing.T) {
		got := values(r.For("companies").Values(companies, 0))
		want := []string{`domain: "acme.io" -> "www.acme.io" (2, most_complete)`}
		if !slices.Equal(got, want) {
			t.Errorf("values %q, want %q (phone kept: values: survivor)", got, want)
		}
	})
	t.Run("an object inherits the top-level fields it does not name", func(t *testing.T) {
		g := []survivorship.Record{rec("1", "jobtitle", "A", "updated", "2020-01-01"), rec("2", "jobtitle", "B", "updated", "2025-01-01")}
		if got := values(r.For("companies").Values(g, 0)); !slices.Equal(got, []string{`jobtitle: "A" -> "B" (2, most_recent)`}) {
			t.Errorf("values %q", got)
		}
	})
	t.Run("an object without a section has the top-level rules", func(t *testing.T) {
		if r.For("deals") != r {
			t.Error("For(deals) is not the top-level rules")
		}
		if got := r.Objects(); !slices.Equal(got, []string{"companies"}) {
			t.Errorf("Objects() = %v", got)
		}
	})
}

func TestTheFieldsTheRulesRead(t *testing.T) {
	tests := []struct {
		name, settings, object string
		want                   []string
	}{
		{"the defaults read the created time under both names", "", "contacts", []string{"created", "createdate"}},
		{"most_recent reads the updated time", "survivor: [most_recent]", "contacts", []string{"updated", "lastmodifieddate", "hs_lastmodifieddate"}},
		{"a most_recent field reads the updated time", "survivor: [oldest]\nfields: {phone: most_recent}", "contacts", []string{"created", "createdate", "updated", "lastmodifieddate", "hs_lastmodifieddate"}},
		{"a most_recent default reads the updated time", "survivor: [most_complete]\nvalues: most_recent", "contacts", []string{"updated", "lastmodifieddate", "hs_lastmodifieddate"}},
		{"a source tie-breaker reads the source field", "survivor: [{source: x}]\nsource_field: origin", "contacts", []string{"origin"}},
		{"most_complete alone reads nothing more", "survivor: most_complete", "contacts", nil},
		{"renamed fields are read by their names", "survivor: [oldest, most_recent]\ncreated_field: signup\nupdated_field: [touched, modified]", "contacts", []string{"signup", "touched", "modified"}},
		{"each object reads what its rules need", "survivor: most_complete\ncompanies: {survivor: oldest}", "companies", []string{"created", "createdate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rules(t, tt.settings).Fields(tt.object); !slices.Equal(got, tt.want) {
				t.Errorf("Fields(%s) = %q, want %q", tt.object, got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for _, n := range []*yaml.Node{nil, {}, {Kind: yaml.ScalarNode, Tag: "!!null"}, {Kind: yaml.MappingNode}} {
		r, err := survivorship.New("crmops.yaml", n)
		if err != nil {
			t.Fatal(err)
		}
		group := []survivorship.Record{
			rec("1002", "email", "a@x.io", "created", "2023-01-01T00:00:00Z"),
			rec("1001", "email", "a@x.io", "jobtitle", "CTO", "created", "2024-01-01T00:00:00Z"),
			rec("1003", "email", "a@x.io", "phone", "555", "created", "2022-01-01T00:00:00Z"),
		}
		s := r.Survivor(group)
		if group[s].ID != "1003" {
			t.Errorf("survivor %s, want 1003 (as complete as 1001, older)", group[s].ID)
		}
		if got := values(r.Values(group, s)); !slices.Equal(got, []string{`jobtitle: "" -> "CTO" (1001, fill_empty)`}) {
			t.Errorf("values %q", got)
		}
	}
}

func TestExplain(t *testing.T) {
	r := rules(t, "")
	group := []survivorship.Record{
		rec("1001", "email", "a@x.io", "phone", "5", "created", "2024-01-01T00:00:00Z"),
		rec("1002", "email", "a@x.io", "created", "2024-01-01T00:00:00Z"),
		rec("1003", "email", "a@x.io", "phone", "6", "created", "2025-01-01T00:00:00Z"),
		rec("1004", "email", "a@x.io", "phone", "6", "created", "2024-01-01T00:00:00Z"),
	}
	s := r.Survivor(group)
	got := r.Explain(group, s)
	want := "1001 survives over 1002 by most_complete (2 fields filled to 1), over 1003 by oldest (created 2024-01-01T00:00:00Z, 2025-01-01T00:00:00Z), over 1004 by the lower id (every rule tied)"
	if got != want {
		t.Errorf("Explain\n %s\nwant\n %s", got, want)
	}
	other := rules(t, "survivor: [{source: crm}, most_recent]")
	g := []survivorship.Record{rec("1", "source", "crm"), rec("2", "source", "form"), rec("3", "source", "crm", "updated", "2024-01-01T00:00:00Z")}
	if got, want := other.Explain(g, other.Survivor(g)), `3 survives over 1 by most_recent (updated 2024-01-01T00:00:00Z, unknown), over 2 by source: crm (source "crm", "form")`; got != want {
		t.Errorf("Explain\n %s\nwant\n %s", got, want)
	}
	if got := r.Explain(group[:1], 0); got != "1001 survives alone" {
		t.Errorf("Explain of one = %q", got)
	}
}

func TestCompareIDs(t *testing.T) {
	ordered := []string{"1", "2", "9", "010", "10", "99", "100", "C-9", "C-10", "C-10a", "C-11", "a", "b"}
	for i, a := range ordered {
		for j, b := range ordered {
			got := survivorship.CompareIDs(a, b)
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got != want {
				t.Errorf("CompareIDs(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name, settings, want string
	}{
		{"an unknown tie-breaker", "survivor: [most_complete, newest]",
			"crmops.yaml:5: detectors.dedupe.survivorship.survivor[1]: unknown tie-breaker \"newest\" (one of most_complete, oldest, most_recent, source: NAME)"},
		{"source without a name", "survivor: [source]",
			"crmops.yaml:5: detectors.dedupe.survivorship.survivor[0]: source needs the source to prefer: {source: NAME}"},
		{"source with an empty name", "survivor: [{source: \"\"}]",
			"crmops.yaml:5: detectors.dedupe.survivorship.survivor[0].source: want a source name or a list of them"},
		{"a tie-breaker mapping other than source", "survivor:\n  - {oldest: true}",
			"crmops.yaml:6: detectors.dedupe.survivorship.survivor[0]: a tie-breaker mapping is {source: NAME}"},
		{"a tie-breaker listed twice", "survivor: [oldest, most_complete, oldest]",
			"crmops.yaml:5: detectors.dedupe.survivorship.survivor[2]: oldest is listed twice"},
		{"an empty survivor list", "survivor: []",
			"crmops.yaml:5: detectors.dedupe.survivorship.survivor: empty list; name tie-breakers"},
		{"an unknown default value rule", "values: newest",
			"crmops.yaml:5: detectors.dedupe.survivorship.values: unknown value rule \"newest\" (one of survivor, most_recent, most_complete, fill_empty)"},
		{"an unknown field rule", "fields:\n  jobtitle: most_recent\n  phone: longest",
			"crmops.yaml:7: detectors.dedupe.survivorship.fields.phone: unknown value rule \"longest\""},
		{"fields as a list", "fields: [jobtitle]",
			"crmops.yaml:5: detectors.dedupe.survivorship.fields: want a mapping of field: rule"},
		{"a rule that would set the created time", "fields:\n  created: most_recent",
			"crmops.yaml:6: detectors.dedupe.survivorship.fields.created: created describes the record"},
		{"a rule that would set the record id", "fields: {hs_object_id: most_complete}",
			"crmops.yaml:5: detectors.dedupe.survivorship.fields.hs_object_id: hs_object_id describes the record"},
		{"a rule that would set a renamed updated field", "updated_field: touched\nfields: {touched: fill_empty}",
			"detectors.dedupe.survivorship.fields.touched: touched describes the record"},
		{"an invalid field name", "fields: {\"job title\": fill_empty}",
			"crmops.yaml:5: detectors.dedupe.survivorship.fields.job title: \"job title\" is not a valid field name"},
		{"an invalid created field name", "created_field: [created, \"sign up\"]",
			"crmops.yaml:5: detectors.dedupe.survivorship.created_field[1]: \"sign up\" is not a valid field name"},
		{"an empty list of updated fields", "updated_field: []",
			"crmops.yaml:5: detectors.dedupe.survivorship.updated_field: empty list; name at least one field name"},
		{"an unknown key", "survivor: [oldest]\nSurvivor: [oldest]",
			"crmops.yaml:6: detectors.dedupe.survivorship.Survivor: unknown key (known keys: created_field, fields, source_field, survivor, updated_field, values; or an object's name"},
		{"a misspelt key read as an object", "value: survivor",
			"crmops.yaml:5: detectors.dedupe.survivorship.value: want the rules of object value (a mapping of"},
		{"an unknown key in an object's section", "contacts:\n  survivor: [oldest]\n  merge: all",
			"crmops.yaml:7: detectors.dedupe.survivorship.contacts.merge: unknown key (known keys:"},
		{"an error in an object's section", "contacts:\n  values: newest",
			"crmops.yaml:6: detectors.dedupe.survivorship.contacts.values: unknown value rule \"newest\""},
		{"an object twice", "contacts: {values: survivor}\ncontacts: {values: fill_empty}",
			"crmops.yaml:6: detectors.dedupe.survivorship.contacts: duplicate key"},
		{"a wrong type", "values: [survivor]",
			"crmops.yaml:5: detectors.dedupe.survivorship.values: want a string, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := survivorship.New("crmops.yaml", node(t, tt.settings))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
	t.Run("a section that is no mapping", func(t *testing.T) {
		_, err := survivorship.New("crmops.yaml", &yaml.Node{Kind: yaml.SequenceNode, Line: 4})
		if err == nil || err.Error() != "crmops.yaml:4: detectors.dedupe.survivorship: want a mapping of keys (survivor, values, fields, ...), got a list" {
			t.Errorf("err = %v", err)
		}
	})
}
