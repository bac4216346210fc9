package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

// collect keeps every generated record, by object and id.
type collect struct {
	recs   map[string]map[string]map[string]string
	order  []string
	chunks int
}

func newCollect() *collect { return &collect{recs: map[string]map[string]map[string]string{}} }

func (c *collect) Upsert(_ context.Context, object string, recs []crm.Record) error {
	c.chunks++
	if c.recs[object] == nil {
		c.recs[object] = map[string]map[string]string{}
	}
	for _, r := range recs {
		if _, dup := c.recs[object][r.ID]; dup {
			return fmt.Errorf("%s/%s written twice", object, r.ID)
		}
		c.recs[object][r.ID] = r.Fields
		c.order = append(c.order, object+"/"+r.ID)
	}
	return nil
}

// digest hashes every record in the order written, and the truth.
func digest(t *testing.T, opts Options) (string, *Truth) {
	t.Helper()
	h := sha256.New()
	tr, err := Generate(t.Context(), opts, SinkFunc(func(_ context.Context, object string, recs []crm.Record) error {
		for _, r := range recs {
			keys := make([]string, 0, len(r.Fields))
			for k := range r.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintf(h, "%s/%s", object, r.ID)
			for _, k := range keys {
				fmt.Fprintf(h, "|%s=%s", k, r.Fields[k])
			}
			fmt.Fprintln(h)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tr.WriteTruth(&buf); err != nil {
		t.Fatal(err)
	}
	h.Write(buf.Bytes())
	fmt.Fprintf(h, "%v", tr.Negatives)
	return fmt.Sprintf("%x", h.Sum(nil)), tr
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := Options{Seed: 7, Contacts: 5000, Companies: 300}
	a, ta := digest(t, opts)
	b, _ := digest(t, opts)
	if a != b {
		t.Fatalf("same options gave different data: %s vs %s", a, b)
	}
	small := opts
	small.ChunkSize = 777
	if c, _ := digest(t, small); c != a {
		t.Errorf("the chunk size changed the data")
	}
	other := opts
	other.Seed = 8
	if c, _ := digest(t, other); c == a {
		t.Errorf("another seed gave the same data")
	}
	if len(ta.Groups) == 0 || len(ta.Negatives) == 0 {
		t.Errorf("nothing planted: %d groups, %d negatives", len(ta.Groups), len(ta.Negatives))
	}
}

func TestGenerateWritesWhatItPromises(t *testing.T) {
	c := newCollect()
	opts := Options{Seed: 3, Contacts: 20000, Companies: 900, ChunkSize: 5000}
	tr, err := Generate(t.Context(), opts, c)
	if err != nil {
		t.Fatal(err)
	}
	contacts, companies := c.recs[ObjectContacts], c.recs[ObjectCompanies]

	t.Run("the sizes and ids are as asked, companies first", func(t *testing.T) {
		if len(contacts) != 20000 || len(companies) != 900 {
			t.Fatalf("%d contacts, %d companies; want 20000, 900", len(contacts), len(companies))
		}
		if c.order[0] != "companies/c-000001" || c.order[900] != "contacts/1000001" || c.order[len(c.order)-1] != "contacts/1020000" {
			t.Errorf("order: first %s, 901st %s, last %s", c.order[0], c.order[900], c.order[len(c.order)-1])
		}
		if c.chunks != 1+4 {
			t.Errorf("%d chunks, want 5 (900 companies, then 4 x 5000 contacts)", c.chunks)
		}
	})

	t.Run("every truth id exists in its object", func(t *testing.T) {
		seen := map[string]bool{}
		for _, g := range append(append([]Group(nil), tr.Groups...), tr.Negatives...) {
			if len(g.IDs) < 2 {
				t.Errorf("group %+v has fewer than two records", g)
			}
			for _, id := range g.IDs {
				if c.recs[g.Object][id] == nil {
					t.Errorf("%s/%s of group %s is not in the CRM", g.Object, id, g.Kind)
				}
			}
		}
		for _, g := range tr.Groups {
			for _, id := range g.IDs {
				if seen[g.Object+id] {
					t.Errorf("%s/%s is in two duplicate groups", g.Object, id)
				}
				seen[g.Object+id] = true
			}
		}
	})

	t.Run("the duplicate rate is about as asked", func(t *testing.T) {
		copies := map[string]int{}
		kinds := map[string]int{}
		for _, g := range tr.Groups {
			copies[g.Object] += len(g.IDs) - 1
			kinds[g.Kind]++
		}
		if n := copies[ObjectContacts]; n < 800 || n > 1200 {
			t.Errorf("%d planted contact copies, want about 1000 (5%%)", n)
		}
		if n := copies[ObjectCompanies]; n < 25 || n > 75 {
			t.Errorf("%d planted company copies, want about 45 (5%%)", n)
		}
		for _, k := range []string{"emailcase", "whitespace", "gmail", "nickname", "typo", "domain", "name"} {
			if kinds[k] == 0 {
				t.Errorf("no %s duplicates planted", k)
			}
		}
		neg := map[string]int{}
		for _, g := range tr.Negatives {
			neg[g.Kind]++
		}
		for _, k := range []string{"twin", "family", "role", "namesake"} {
			if neg[k] == 0 {
				t.Errorf("no %s hard negatives planted", k)
			}
		}
	})

	t.Run("emails repeat only where planted", func(t *testing.T) {
		planted := map[string]bool{}
		for _, g := range append(append([]Group(nil), tr.Groups...), tr.Negatives...) {
			if g.Object == ObjectContacts {
				for _, id := range g.IDs {
					planted[id] = true
				}
			}
		}
		first := map[string]string{}
		for id, f := range contacts {
			e := strings.ToLower(strings.TrimSpace(f["email"]))
			if e == "" || planted[id] {
				continue
			}
			if other, ok := first[e]; ok {
				t.Errorf("%s and %s share %s but were not planted", other, id, e)
			}
			first[e] = id
		}
	})

	t.Run("records have the flaws real CRMs have", func(t *testing.T) {
		var noTitle, noPhone, stale, formats int
		shapes := map[string]bool{}
		for _, f := range contacts {
			if f["jobtitle"] == "" {
				noTitle++
			}
			if f["phone"] == "" {
				noPhone++
			} else {
				shapes[phoneShape(f["phone"])] = true
			}
			if f["owner"] == "o-03" || f["owner"] == "o-05" {
				stale++
			}
		}
		formats = len(shapes)
		if noTitle < 2000 || noPhone < 2000 || stale < 1000 || formats < 20 {
			t.Errorf("%d without title, %d without phone, %d stale owners, %d phone formats", noTitle, noPhone, stale, formats)
		}
		for id, f := range contacts {
			if f["created"] == "" {
				t.Fatalf("contact %s has no created time", id)
			}
		}
		if a, b := contacts["1000001"]["created"], contacts["1020000"]["created"]; a >= b {
			t.Errorf("created does not rise with the id: %s .. %s", a, b)
		}
	})

	t.Run("the truth file round-trips", func(t *testing.T) {
		var buf bytes.Buffer
		if err := tr.WriteTruth(&buf); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), "object,group,id\n") {
			t.Errorf("truth starts %q", buf.String()[:40])
		}
		back, err := ReadTruth(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(back.Groups) != len(tr.Groups) || back.Pairs() != tr.Pairs() {
			t.Fatalf("read %d groups, %d pairs; wrote %d, %d", len(back.Groups), back.Pairs(), len(tr.Groups), tr.Pairs())
		}
		for i, g := range back.Groups {
			if g.Object != tr.Groups[i].Object || strings.Join(g.IDs, ",") != strings.Join(tr.Groups[i].IDs, ",") {
				t.Fatalf("group %d: read %+v, wrote %+v", i, g, tr.Groups[i])
			}
		}
	})
}

// phoneShape replaces digits by 9: the format a number is written in.
func phoneShape(p string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '9'
		}
		return r
	}, p)
}

func TestGenerateStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 200,000 contacts")
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	n := 0
	sink := SinkFunc(func(_ context.Context, _ string, recs []crm.Record) error {
		n += len(recs)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
		return nil
	})
	if _, err := Generate(t.Context(), Options{Seed: 1, Contacts: 200000}, sink); err != nil {
		t.Fatal(err)
	}
	if n != 210000 {
		t.Errorf("wrote %d records, want 210000", n)
	}
	grew := float64(peak-min(peak, base.HeapInuse)) / (1 << 20)
	t.Logf("heap in use grew by %.1f MiB at most", grew)
	if grew > 100 {
		t.Errorf("heap in use grew by %.1f MiB; generation must stream", grew)
	}
}

func TestGenerateRefusesBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Contacts: -1},
		{Contacts: 10, Companies: -2},
		{Contacts: 10, DuplicateRate: 0.7},
		{Contacts: maxContacts + 1},
	} {
		if _, err := Generate(context.Background(), opts, newCollect()); err == nil {
			t.Errorf("Generate(%+v) succeeded", opts)
		}
	}
}

func TestNamesAreUnambiguous(t *testing.T) {
	base := map[string]bool{}
	for _, f := range firstNames {
		if base[f] {
			t.Errorf("%s listed twice", f)
		}
		base[f] = true
	}
	for formal, nicks := range nicknames {
		if !base[formal] {
			t.Errorf("nickname source %s is not a first name", formal)
		}
		for _, n := range nicks {
			if base[n] {
				t.Errorf("nickname %s (of %s) is also a base first name", n, formal)
			}
		}
	}
	for a, b := range twins {
		if !base[a] || base[b] {
			t.Errorf("twin %s/%s: the first must be a base name, the second not", a, b)
		}
	}
}
