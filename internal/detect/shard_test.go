package detect_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/detect/detecttest"
	"github.com/crmops/crmops/internal/sample"
)

func TestParseShard(t *testing.T) {
	for _, ok := range []struct {
		in   string
		want detect.Shard
	}{{"1/1", detect.Shard{1, 1}}, {"1/2", detect.Shard{1, 2}}, {"2/2", detect.Shard{2, 2}}, {"7/16", detect.Shard{7, 16}}} {
		got, err := detect.ParseShard(ok.in)
		if err != nil || got != ok.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", ok.in, got, err, ok.want)
		}
	}
	for _, bad := range []string{"", "1", "0/2", "3/2", "1/0", "-1/2", "a/b", "1/2/3", "1 /2", "2"} {
		_, err := detect.ParseShard(bad)
		if err == nil || !strings.Contains(err.Error(), "want I/N") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseShard(%q): %v; want a one-line error saying I/N", bad, err)
		}
	}
}

// changeKey is what a change proposes, its id aside: a dedupe run numbers
// its merges across objects, the planner renumbers them per batch anyway.
func changeKey(c batch.Change, merges map[string]batch.Change) string {
	follows := ""
	if c.Follows != "" {
		follows = merges[c.Follows].Target()
	}
	return fmt.Sprintf("%s %s %s/%s %s %q->%q <-%s %s %.3f %s %q follows %s", c.Kind, c.Op, c.Object, c.Record, c.Field, c.Before, c.After,
		c.MergeFrom, c.Source, c.Confidence, c.Trigger, c.Reason, follows)
}

func keys(changes []batch.Change) []string {
	merges := map[string]batch.Change{}
	for _, c := range changes {
		if c.Op == batch.OpMerge {
			merges[c.ID] = c
		}
	}
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = changeKey(c, merges)
	}
	return out
}

// Every detector, on the quickstart's sample CRM and inputs (dedupe with
// no settings at all, every other detector on its default object): run
// unit by unit, each unit reads only its object, and the units' changes,
// in order, are the whole run's. The shards of a run own disjoint objects
// whose units together are every unit.
func TestUnitsTogetherDetectWhatTheWholeRunDoes(t *testing.T) {
	data := sample.Generate(sample.Options{Seed: 1})
	inputs, err := data.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range inputs.Files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := detecttest.OpenCRM(t)
	detecttest.Seed(t, db, "contacts", data.Contacts...)
	detecttest.Seed(t, db, "companies", data.Companies...)
	cfg, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: sqlite}\n"+inputs.Detectors))
	if err != nil {
		t.Fatal(err)
	}
	names := detectors.Names()
	settings := func(name string) *yaml.Node { n := cfg.Detectors[name]; return &n }
	env := detect.Env{CRM: db, Dir: dir, Progress: detect.NoProgress{}}
	objectsSeen := map[string]bool{}
	for _, name := range names {
		whole, err := detectors.New("crmops.yaml", name, settings(name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := whole.Detect(t.Context(), env)
		if err != nil {
			t.Fatal(err)
		}
		var got []batch.Change
		units := detect.Units(name, settings(name))
		for _, u := range units {
			d := whole
			if u.Narrowed {
				if d, err = detectors.New("crmops.yaml", name, u.Settings); err != nil {
					t.Fatalf("%s on %s: %v", name, u.Object, err)
				}
			}
			res, err := d.Detect(t.Context(), env)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Changes {
				if c.Object != u.Object {
					t.Errorf("%s's unit on %s proposes a change to %s: %s", name, u.Object, c.Object, detecttest.Describe(c))
				}
			}
			objectsSeen[u.Object] = true
			got = append(got, res.Changes...)
		}
		if len(want.Changes) == 0 {
			t.Errorf("%s found nothing on the sample: the test proves nothing of it", name)
		}
		if g, w := keys(got), keys(want.Changes); !slices.Equal(g, w) {
			t.Errorf("%s unit by unit (%d units) found %d changes, the whole run %d; first differences:\n%s", name, len(units), len(g), len(w), firstDiff(g, w))
		}
	}
	if name := "dedupe"; len(detect.Units(name, settings(name))) != 2 {
		t.Errorf("dedupe without objects: is not one unit per object of its default (contacts, companies): %+v", detect.Units(name, settings(name)))
	}

	whole := detect.Plan(names, settings, detect.Shard{})
	if !slices.Equal(whole.Objects, []string{"companies", "contacts"}) || !slices.Equal(whole.Owned, whole.Objects) {
		t.Fatalf("the whole run's objects: %v owned %v", whole.Objects, whole.Owned)
	}
	for _, n := range []int{1, 2, 3} {
		var union []string
		owners := map[string]int{}
		for i := 1; i <= n; i++ {
			p := detect.Plan(names, settings, detect.Shard{I: i, N: n})
			for _, o := range p.Owned {
				owners[o]++
			}
			for _, u := range p.Units {
				if !slices.Contains(p.Owned, u.Object) {
					t.Errorf("shard %d/%d runs %s on %s, which it does not own (%v)", i, n, u.Detector, u.Object, p.Owned)
				}
				union = append(union, u.Detector+" "+u.Object)
			}
		}
		var all []string
		for _, u := range whole.Units {
			all = append(all, u.Detector+" "+u.Object)
		}
		slices.Sort(union)
		slices.Sort(all)
		if !slices.Equal(union, all) {
			t.Errorf("%d shards run %v; the whole run %v", n, union, all)
		}
		for _, o := range whole.Objects {
			if owners[o] != 1 {
				t.Errorf("%d shards: %s is owned by %d shards", n, o, owners[o])
			}
		}
	}
}

// dedupe's sections of the objects it does not deduplicate are dropped
// from a unit's settings (the detector refuses them as misspelt keys),
// and the unit's own section stays.
func TestUnitsNarrowSalesforceDedupe(t *testing.T) {
	cfg, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: sqlite}\n"+detectors.SalesforceSettings))
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Detectors["dedupe"]
	units := detect.Units("dedupe", &n)
	var objects []string
	for _, u := range units {
		objects = append(objects, u.Object)
		out, err := yaml.Marshal(u.Settings)
		if err != nil {
			t.Fatal(err)
		}
		text := string(out)
		for _, other := range []string{"Contact", "Lead", "Account"} {
			has := strings.Contains(text, "\n"+other+":\n")
			if has != (other == u.Object) {
				t.Errorf("unit %s's settings have a section %s: %v\n%s", u.Object, other, has, text)
			}
		}
		if _, err := detectors.New("crmops.yaml", "dedupe", u.Settings); err != nil {
			t.Errorf("unit %s: %v", u.Object, err)
		}
	}
	if !slices.Equal(objects, []string{"Contact", "Lead", "Account"}) {
		t.Errorf("units on %v, want Contact, Lead, Account", objects)
	}
	all := func(name string) *yaml.Node { n := cfg.Detectors[name]; return &n }
	p := detect.Plan(detectors.Names(), all, detect.Shard{I: 1, N: 2})
	if !slices.Equal(p.Objects, []string{"Account", "Contact", "Lead"}) || !slices.Equal(p.Owned, []string{"Account", "Lead"}) {
		t.Errorf("shard 1/2 of the Salesforce settings: objects %v, owned %v", p.Objects, p.Owned)
	}
}

func firstDiff(got, want []string) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)) && b.Len() < 2000; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			fmt.Fprintf(&b, "  [%d] units: %s\n      whole: %s\n", i, g, w)
		}
	}
	return b.String()
}
