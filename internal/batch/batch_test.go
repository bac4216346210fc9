package batch_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// specID is the id of the example batch copied from SPEC.md into testdata.
const specID = "20261124T060000Z-enrichment-3f9c2a"

func readSpecBatch(t *testing.T) (string, []byte) {
	t.Helper()
	name := "proposals/" + specID + ".yaml"
	data, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return name, data
}

// clearPos drops decoding positions so batches can be compared by content.
func clearPos(b *batch.Batch) *batch.Batch {
	c := *b
	c.Pos = strictyaml.Pos{}
	c.Changes = append([]batch.Change(nil), b.Changes...)
	for i := range c.Changes {
		c.Changes[i].Pos = strictyaml.Pos{}
	}
	return &c
}

func TestDecodeSpecExample(t *testing.T) {
	name, data := readSpecBatch(t)
	b, err := batch.Decode(name, data)
	if err != nil {
		t.Fatalf("the SPEC's example batch does not decode: %v", err)
	}
	set, merge := b.Changes[0], b.Changes[1]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"the batch id is read", b.ID, specID},
		{"the creation time is read as UTC", b.Created, time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)},
		{"the detector is read", b.Detector, "enrichment"},
		{"both changes are read", len(b.Changes), 2},
		{"a quoted record id stays a string", set.Record, "1001"},
		{"an empty before is the empty string", set.Before, ""},
		{"the new value is read", set.After, "VP Sales"},
		{"confidence is a number", set.Confidence, 0.97},
		{"the merge's loser is read", merge.MergeFrom, "1002"},
		{"the merge has no field", merge.Field, ""},
		{"the loser's snapshot is read", merge.Snapshot, map[string]string{"email": "a@x.com", "firstname": "Ann"}},
		{"a change knows the line of its keys", set.Pos.KeyLine("confidence"), 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestEncodeIsCanonical(t *testing.T) {
	name, data := readSpecBatch(t)
	b, err := batch.Decode(name, data)
	if err != nil {
		t.Fatal(err)
	}
	first, err := batch.Encode(b)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the canonical form matches the golden file", func(t *testing.T) {
		golden := filepath.Join("testdata", "canonical.golden.yaml")
		if *update {
			if err := os.WriteFile(golden, first, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(first, want) {
			t.Errorf("Encode changed the canonical form:\n--- got\n%s--- want\n%s", first, want)
		}
	})
	t.Run("an encoded batch decodes to the same batch", func(t *testing.T) {
		again, err := batch.Decode(name, first)
		if err != nil {
			t.Fatalf("the encoded batch does not decode: %v\n%s", err, first)
		}
		if got, want := clearPos(again), clearPos(b); !reflect.DeepEqual(got, want) {
			t.Errorf("round trip changed the batch:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("encoding twice gives identical bytes", func(t *testing.T) {
		again, err := batch.Decode(name, first)
		if err != nil {
			t.Fatal(err)
		}
		second, err := batch.Encode(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("second encoding differs:\n--- first\n%s--- second\n%s", first, second)
		}
	})
	t.Run("the key order of the input does not change the output", func(t *testing.T) {
		shuffled := strings.Join([]string{
			"changes:",
			"  - trigger: rule",
			"    snapshot: {firstname: Ann, email: a@x.com}",
			"    source: dedupe",
			"    reason: same email, name similarity 0.96",
			"    merge_from: \"1002\"",
			"    record: \"1001\"",
			"    op: merge",
			"    object: contacts",
			"    kind: dedupe",
			"    id: c2",
			"    confidence: 0.93",
			"title: Fill 42 empty job titles from Clay",
			"detector: enrichment",
			"created: 2026-11-24T06:00:00Z",
			"batch: " + specID,
			"version: 1",
		}, "\n") + "\n"
		s, err := batch.Decode(name, []byte(shuffled))
		if err != nil {
			t.Fatal(err)
		}
		b2 := *b
		b2.Changes = b.Changes[1:]
		want, _ := batch.Encode(&b2)
		got, _ := batch.Encode(s)
		if !bytes.Equal(got, want) {
			t.Errorf("shuffled input encodes differently:\n--- got\n%s--- want\n%s", got, want)
		}
	})

	keys := changeKeys(t, first)
	t.Run("a set change always carries before, even when empty", func(t *testing.T) {
		want := []string{"id", "kind", "object", "record", "op", "field", "before", "after", "source", "confidence", "trigger", "reason"}
		if !reflect.DeepEqual(keys[0], want) {
			t.Errorf("set change keys = %v, want %v", keys[0], want)
		}
		if !bytes.Contains(first, []byte("    before: \"\"\n")) {
			t.Errorf("encoded batch has no `before: \"\"` line:\n%s", first)
		}
	})
	t.Run("a merge change never carries field, before or after", func(t *testing.T) {
		want := []string{"id", "kind", "object", "record", "op", "merge_from", "source", "confidence", "trigger", "reason", "snapshot"}
		if !reflect.DeepEqual(keys[1], want) {
			t.Errorf("merge change keys = %v, want %v", keys[1], want)
		}
	})
	t.Run("record ids that look like numbers stay quoted strings", func(t *testing.T) {
		if !bytes.Contains(first, []byte(`record: "1001"`)) || !bytes.Contains(first, []byte(`merge_from: "1002"`)) {
			t.Errorf("record ids lost their quotes:\n%s", first)
		}
	})
}

// changeKeys returns the keys, in order, of each change in an encoded batch.
func changeKeys(t *testing.T, data []byte) [][]string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	var out [][]string
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "changes" {
			continue
		}
		for _, c := range top.Content[i+1].Content {
			var keys []string
			for j := 0; j < len(c.Content); j += 2 {
				keys = append(keys, c.Content[j].Value)
			}
			out = append(out, keys)
		}
	}
	return out
}

func TestEncodeChangesBuiltInCode(t *testing.T) {
	created := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		change batch.Change
		want   []string
		absent []string
	}{
		{
			name:   "a set that fills an empty field writes before as an empty string",
			change: batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "7", Op: batch.OpSet, Field: "jobtitle", After: "CTO", Source: "clay", Confidence: 1},
			want:   []string{`before: ""`, "after: CTO", "confidence: 1"},
			absent: []string{"merge_from", "trigger", "reason", "snapshot"},
		},
		{
			name:   "a merge drops stray field, before and after",
			change: batch.Change{ID: "c1", Kind: "dedupe", Object: "contacts", Record: "7", Op: batch.OpMerge, MergeFrom: "8", Field: "x", Before: "y", After: "z", Source: "dedupe", Confidence: 0.5},
			want:   []string{`merge_from: "8"`},
			absent: []string{"field:", "before:", "after:"},
		},
		{
			name:   "values YAML would read as other types are quoted",
			change: batch.Change{ID: "c1", Kind: "custom", Object: "contacts", Record: "7", Op: batch.OpSet, Field: "opt_in", Before: "no", After: "true", Source: "manual", Confidence: 0},
			want:   []string{`before: "no"`, `after: "true"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &batch.Batch{Version: 1, ID: "b1", Created: created, Detector: "test", Changes: []batch.Change{tt.change}}
			out, err := batch.Encode(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("encoded batch lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if bytes.Contains(out, []byte(a)) {
					t.Errorf("encoded batch has %q:\n%s", a, out)
				}
			}
			back, err := batch.Decode("proposals/b1.yaml", out)
			if err != nil {
				t.Fatalf("encoded batch does not decode: %v\n%s", err, out)
			}
			got := back.Changes[0]
			if got.Before != tt.change.Before && tt.change.Op == batch.OpSet {
				t.Errorf("before = %q, want %q", got.Before, tt.change.Before)
			}
			if got.After != tt.change.After && tt.change.Op == batch.OpSet {
				t.Errorf("after = %q, want %q", got.After, tt.change.After)
			}
		})
	}
}

// base is a valid batch file; lines are numbered for the error cases below.
var base = []string{
	"version: 1",                    // 1
	"batch: b1",                     // 2
	"created: 2026-11-24T06:00:00Z", // 3
	"detector: enrichment",          // 4
	"title: t",                      // 5
	"changes:",                      // 6
	"  - id: c1",                    // 7
	"    kind: enrichment",          // 8
	"    object: contacts",          // 9
	"    record: \"1001\"",          // 10
	"    op: set",                   // 11
	"    field: jobtitle",           // 12
	"    before: \"\"",              // 13
	"    after: VP Sales",           // 14
	"    source: clay",              // 15
	"    confidence: 0.97",          // 16
	"    trigger: import",           // 17
	"  - id: c2",                    // 18
	"    kind: dedupe",              // 19
	"    object: contacts",          // 20
	"    record: \"1001\"",          // 21
	"    op: merge",                 // 22
	"    merge_from: \"1002\"",      // 23
	"    source: dedupe",            // 24
	"    confidence: 0.93",          // 25
	"    trigger: rule",             // 26
}

// follower is a third change, at line 27, setting a field of record as a
// survivorship value that follows the change with id merge (its follows:
// key at line 38).
func follower(record, merge string) string {
	return "  - id: c3\n    kind: dedupe\n    object: contacts\n    record: \"" + record + "\"\n    op: set\n    field: city\n" +
		"    before: \"\"\n    after: Berlin\n    source: dedupe\n    confidence: 0.9\n    trigger: rule\n    follows: " + merge
}

// edited returns base with lines replaced (1-based); a replacement may hold
// several lines, and "-" deletes the line.
func edited(repl map[int]string) []byte {
	var out []string
	for i, l := range base {
		r, ok := repl[i+1]
		switch {
		case !ok:
			out = append(out, l)
		case r == "-":
		default:
			out = append(out, r)
		}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

func TestDecodeBaseIsValid(t *testing.T) {
	if _, err := batch.Decode("proposals/b1.yaml", edited(nil)); err != nil {
		t.Fatalf("the base batch of the error cases must be valid: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		data []byte
		line int
		key  string
		msg  string
	}{
		{"an unknown key in a change is refused", "", edited(map[int]string{17: "    triger: import"}), 17, "changes[0].triger", "unknown key"},
		{"an unknown key at the top is refused", "", edited(map[int]string{5: "titel: t"}), 5, "titel", "unknown key"},
		{"a duplicate change id is refused", "", edited(map[int]string{18: "  - id: c1"}), 18, "changes[1].id", "duplicate change id"},
		{"a confidence above 1 is refused", "", edited(map[int]string{25: "    confidence: 1.5"}), 25, "changes[1].confidence", "outside 0..1"},
		{"a negative confidence is refused", "", edited(map[int]string{16: "    confidence: -0.1"}), 16, "changes[0].confidence", "outside 0..1"},
		{"a confidence that is not a number is refused", "", edited(map[int]string{16: "    confidence: high"}), 16, "changes[0].confidence", "want a number"},
		{"a quoted confidence is refused", "", edited(map[int]string{16: "    confidence: \"0.9\""}), 16, "changes[0].confidence", "want a number"},
		{"a NaN confidence is refused", "", edited(map[int]string{16: "    confidence: .nan"}), 16, "changes[0].confidence", "outside 0..1"},
		{"a batch id that differs from the file name is refused", "", edited(map[int]string{2: "batch: b2"}), 2, "batch", "differs from the file name"},
		{"a batch id in a sharded folder must still match the file name", "proposals/2026-11/b2.yaml", edited(nil), 2, "batch", "differs from the file name"},
		{"an unknown kind is refused", "", edited(map[int]string{8: "    kind: enrich"}), 8, "changes[0].kind", "unknown kind"},
		{"an unknown op is refused", "", edited(map[int]string{11: "    op: upsert"}), 11, "changes[0].op", "unknown op"},
		{"an unknown trigger is refused", "", edited(map[int]string{26: "    trigger: ai"}), 26, "changes[1].trigger", "unknown trigger"},
		{"a set without before is refused", "", edited(map[int]string{13: "-"}), 7, "changes[0].before", "missing required key for op set"},
		{"a set without after is refused", "", edited(map[int]string{14: "-"}), 7, "changes[0].after", "missing required key for op set"},
		{"a set with merge_from is refused", "", edited(map[int]string{12: "    field: jobtitle\n    merge_from: \"9\""}), 13, "changes[0].merge_from", "only op merge"},
		{"a merge with a field is refused", "", edited(map[int]string{23: "    merge_from: \"1002\"\n    field: email"}), 24, "changes[1].field", "does not take field"},
		{"a merge with before is refused", "", edited(map[int]string{23: "    merge_from: \"1002\"\n    before: \"\""}), 24, "changes[1].before", "does not take before"},
		{"a merge without merge_from is refused", "", edited(map[int]string{23: "-"}), 18, "changes[1].merge_from", "merge needs"},
		{"a merge of a record into itself is refused", "", edited(map[int]string{23: "    merge_from: \"1001\""}), 23, "changes[1].merge_from", "merged into itself"},
		{"a change whose after equals before is refused", "", edited(map[int]string{14: "    after: \"\""}), 14, "changes[0].after", "equals before"},
		{"a dedupe change with op set is refused", "", edited(map[int]string{8: "    kind: dedupe"}), 11, "changes[0].op", "a dedupe change is op merge, or a set that follows one"},
		{"a set has no survivor", "", edited(map[int]string{17: "    trigger: import\n    survivor_snapshot: {email: a@x.com}"}), 18, "changes[0].survivor_snapshot", "only a merge has a survivor"},
		{"a set cannot follow a later change", "", edited(map[int]string{17: "    trigger: import\n    follows: c2"}), 18, "changes[0].follows", `"c2" names no change before this one`},
		{"a merge follows nothing", "", edited(map[int]string{26: "    trigger: rule\n    follows: c1"}), 27, "changes[1].follows", "only a set follows a merge"},
		{"a set follows only a merge", "", edited(map[int]string{26: "    trigger: rule\n" + follower("1001", "c1")}), 38, "changes[2].follows", `"c1" is not a merge`},
		{"a set that follows a merge changes its survivor", "", edited(map[int]string{26: "    trigger: rule\n" + follower("1002", "c2")}), 38, "changes[2].follows", `merge "c2" keeps contacts/1001; a set that follows it changes that survivor, not contacts/1002`},
		{"a change without an id is refused", "", edited(map[int]string{7: "  - reason: x"}), 7, "changes[0].id", "missing required key"},
		{"a change without a source is refused", "", edited(map[int]string{15: "-"}), 7, "changes[0].source", "missing required key"},
		{"an empty source is refused", "", edited(map[int]string{15: "    source: \"\""}), 15, "changes[0].source", "must not be empty"},
		{"an object name with a hyphen is refused", "", edited(map[int]string{9: "    object: con-tacts"}), 9, "changes[0].object", "not a valid object name"},
		{"a record id with a slash is refused", "", edited(map[int]string{10: "    record: a/b"}), 10, "changes[0].record", "not a valid record id"},
		{"a field name with spaces is refused", "", edited(map[int]string{12: "    field: job title"}), 12, "changes[0].field", "not a valid field name"},
		{"an unsupported version is refused", "", edited(map[int]string{1: "version: 2"}), 1, "version", "unsupported version"},
		{"a missing detector is refused", "", edited(map[int]string{4: "-"}), 1, "detector", "missing required key"},
		{"an empty list of changes is refused", "", []byte(strings.Join(base[:5], "\n") + "\nchanges: []\n"), 6, "changes", "at least one change"},
		{"a null list of changes is refused", "", []byte(strings.Join(base[:5], "\n") + "\nchanges:\n"), 6, "changes", "at least one change"},
		{"a batch without changes is refused", "", []byte(strings.Join(base[:5], "\n") + "\n"), 1, "changes", "missing required key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "proposals/b1.yaml"
			}
			b, err := batch.Decode(file, tt.data)
			if err == nil {
				t.Fatalf("Decode succeeded, want an error; input:\n%s", tt.data)
			}
			if b != nil {
				t.Error("Decode returned a batch along with its error")
			}
			var e *strictyaml.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %q is not a *strictyaml.Error", err, err)
			}
			want := file + ":" + strconv.Itoa(tt.line) + ": " + tt.key + ": "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestValidateBuiltBatch(t *testing.T) {
	ok := batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1", Op: batch.OpSet, Field: "f", After: "x", Source: "s", Confidence: 0.5}
	tests := []struct {
		name    string
		file    string
		changes []batch.Change
		wantErr string
	}{
		{"a batch built in code validates without a file name", "", []batch.Change{ok}, ""},
		{"a batch built in code has its change paths filled in", "", []batch.Change{ok, func() batch.Change { c := ok; c.Confidence = 2; return c }()}, "changes[1].confidence"},
		{"a batch built in code must match the file it is written to", "proposals/other.yaml", []batch.Change{ok}, "differs from the file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &batch.Batch{Version: 1, ID: "b1", Created: time.Now(), Detector: "d", Changes: tt.changes}
			err := b.Validate(tt.file)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	set := batch.Change{Kind: "enrichment", Object: "contacts", Record: "1001", Op: batch.OpSet, Field: "jobtitle", After: "VP Sales"}
	other := set
	other.After = "CEO"
	merge := batch.Change{Kind: "dedupe", Object: "contacts", Record: "1001", Op: batch.OpMerge, MergeFrom: "1002"}
	merge2 := merge
	merge2.MergeFrom = "1003"
	id := batch.NewID(t0, "enrichment", []batch.Change{set})

	t.Run("the same inputs give the same id", func(t *testing.T) {
		if again := batch.NewID(t0, "enrichment", []batch.Change{set}); again != id {
			t.Errorf("NewID = %q then %q", id, again)
		}
	})
	t.Run("the id starts with the UTC time and the detector", func(t *testing.T) {
		if !regexp.MustCompile(`^20261124T060000Z-enrichment-[0-9a-f]{6}$`).MatchString(id) {
			t.Errorf("NewID = %q", id)
		}
		local := t0.In(time.FixedZone("CET", 3600))
		if got := batch.NewID(local, "enrichment", []batch.Change{set}); got != id {
			t.Errorf("the same instant in another zone gives %q, want %q", got, id)
		}
	})
	t.Run("the id is a valid batch id", func(t *testing.T) {
		if !batch.ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	})
	t.Run("ids sort by creation time", func(t *testing.T) {
		times := []time.Time{t0, t0.Add(time.Second), t0.Add(time.Hour), t0.AddDate(0, 2, 0)}
		for i := 1; i < len(times); i++ {
			a := batch.NewID(times[i-1], "zzz", []batch.Change{set})
			b := batch.NewID(times[i], "aaa", []batch.Change{other})
			if a >= b {
				t.Errorf("NewID at %v = %q sorts after NewID at %v = %q", times[i-1], a, times[i], b)
			}
		}
	})
	t.Run("different changes give different ids", func(t *testing.T) {
		ids := map[string]string{
			"set":         id,
			"other after": batch.NewID(t0, "enrichment", []batch.Change{other}),
			"merge":       batch.NewID(t0, "enrichment", []batch.Change{merge}),
			"merge other": batch.NewID(t0, "enrichment", []batch.Change{merge2}),
			"two changes": batch.NewID(t0, "enrichment", []batch.Change{set, merge}),
		}
		seen := map[string]string{}
		for name, v := range ids {
			if prev, dup := seen[v]; dup {
				t.Errorf("%s and %s share id %q", prev, name, v)
			}
			seen[v] = name
		}
	})
	t.Run("a detector name is turned into a safe slug", func(t *testing.T) {
		got := batch.NewID(t0, "My Detector!", []batch.Change{set})
		if !strings.HasPrefix(got, "20261124T060000Z-my-detector-") || !batch.ValidID(got) {
			t.Errorf("NewID = %q", got)
		}
	})
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"a batch file is a batch file", batch.IsBatchFile("proposals/x.yaml"), true},
		{"a batch file in a sharded folder is a batch file", batch.IsBatchFile("proposals/2026-11/x.yaml"), true},
		{"a receipt is not a batch file", batch.IsBatchFile("proposals/2026-11/x.receipt.yaml"), false},
		{"a rejection is not a batch file", batch.IsBatchFile("proposals/2026-11/x.rejected.yaml"), false},
		{"a .yml file is not a batch file", batch.IsBatchFile("proposals/x.yml"), false},
		{"a backup file is not a batch file", batch.IsBatchFile("proposals/x.yaml.bak"), false},
		{"a receipt sits beside its sharded batch", batch.ReceiptPath("proposals/2026-11/x.yaml"), "proposals/2026-11/x.receipt.yaml"},
		{"a rejection sits beside its sharded batch", batch.RejectionPath("proposals/2026-11/x.yaml"), "proposals/2026-11/x.rejected.yaml"},
		{"a receipt path is itself not a batch file", batch.IsBatchFile(batch.ReceiptPath("proposals/x.yaml")), false},
		{"the id of a sharded batch is its base name", batch.IDFromPath("proposals/2026-11/x.yaml"), "x"},
		{"a batch with a plain id lives directly under proposals", batch.Path("x"), "proposals/x.yaml"},
		{"a batch path names the batch it holds", batch.IDFromPath(batch.Path(specID)), specID},
		{"a batch path is under proposals", strings.HasPrefix(batch.Path(specID), batch.Dir+"/"), true},
		{"a batch path is a batch file", batch.IsBatchFile(batch.Path(specID)), true},
		{"an id with a path separator is not valid", batch.ValidID("a/b"), false},
		{"an id with .. is not valid", batch.ValidID("a..b"), false},
		{"an id starting with a dot is not valid", batch.ValidID(".x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestChangeTargets(t *testing.T) {
	set := batch.Change{Object: "contacts", Record: "1", Op: batch.OpSet, Field: "email"}
	merge := batch.Change{Object: "contacts", Record: "1", Op: batch.OpMerge, MergeFrom: "2"}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"a set names its field", set.Target(), "contacts/1.email"},
		{"a merge names loser and survivor", merge.Target(), "contacts/2 -> 1"},
		{"a set touches its record", set.Touches("contacts", "1"), true},
		{"a set does not touch another object's record", set.Touches("companies", "1"), false},
		{"a merge touches its survivor", merge.Touches("contacts", "1"), true},
		{"a merge touches its loser", merge.Touches("contacts", "2"), true},
		{"a merge does not touch other records", merge.Touches("contacts", "3"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// A survivorship set follows its merge: it decodes, encodes back with its
// follows key, and is listed among the merge's followers.
func TestASetFollowsItsMerge(t *testing.T) {
	data := edited(map[int]string{26: "    trigger: rule\n" + follower("1001", "c2")})
	b, err := batch.Decode("proposals/b1.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Followers("c2"); !slices.Equal(got, []string{"c3"}) {
		t.Errorf("followers of c2: %v", got)
	}
	if got := b.Followers("c1"); got != nil {
		t.Errorf("followers of a set: %v", got)
	}
	out, err := batch.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "    follows: c2\n") || strings.Count(string(out), "follows:") != 1 {
		t.Errorf("encoded:\n%s", out)
	}
}
