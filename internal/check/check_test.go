package check_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/check"
	"github.com/crmops/crmops/internal/policy"
)

const validBatch = `version: 1
batch: b-ok
created: 2026-11-24T06:00:00Z
detector: enrichment
changes:
  - id: c1
    kind: enrichment
    object: contacts
    record: "1001"
    op: set
    field: jobtitle
    before: ""
    after: VP Sales
    source: clay
    confidence: 0.97
  - id: c2
    kind: dedupe
    object: contacts
    record: "1001"
    op: merge
    merge_from: "1002"
    source: dedupe
    confidence: 0.93
  - id: c3
    kind: custom
    object: contacts
    record: "1003"
    op: set
    field: phone
    before: ""
    after: "555"
    source: manual
    confidence: 1
`

// write creates files (slash paths relative to dir) with content.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFiles(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"proposals/b-ok.yaml":          validBatch,
		"proposals/2026-11/b-bad.yaml": strings.NewReplacer("batch: b-ok", "batch: b-bad", "confidence: 0.93", "confidence: 1.5").Replace(validBatch),
		"proposals/b-renamed.yaml":     validBatch,
	})
	pol, err := policy.Load(policy.Path, []byte(policy.Default+"  - name: no-phones\n    when: {field: phone}\n    decision: deny\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The deny rule comes after the default rules, none of which match a
	// custom change, so the phone change reaches it.
	paths := []string{
		filepath.Join(root, "proposals", "b-ok.yaml"),
		filepath.Join(root, "proposals", "2026-11", "b-bad.yaml"),
		filepath.Join(root, "proposals", "b-renamed.yaml"),
		filepath.Join(root, "proposals", "missing.yaml"),
	}
	rows := check.Files(root, paths, pol, check.Options{Now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)})
	byFile := map[string][]check.Row{}
	for _, r := range rows {
		byFile[r.File] = append(byFile[r.File], r)
	}

	t.Run("a valid batch gives one row per change with its decision and rule", func(t *testing.T) {
		got := byFile["proposals/b-ok.yaml"]
		want := []check.Row{
			{File: "proposals/b-ok.yaml", Batch: "b-ok", Change: "c1", Decision: "auto", Rule: "enrichment-fill-empty"},
			{File: "proposals/b-ok.yaml", Batch: "b-ok", Change: "c2", Decision: "review", Rule: "dedupe-always-review"},
			{File: "proposals/b-ok.yaml", Batch: "b-ok", Change: "c3", Decision: "deny", Rule: "no-phones"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rows =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("an invalid batch gives one error row naming file, line and key", func(t *testing.T) {
		got := byFile["proposals/2026-11/b-bad.yaml"]
		if len(got) != 1 {
			t.Fatalf("rows = %+v, want one", got)
		}
		r := got[0]
		if r.Batch != "b-bad" || r.Change != "" || r.Decision != "" {
			t.Errorf("row = %+v, want batch b-bad and no change or decision", r)
		}
		if want := "proposals/2026-11/b-bad.yaml:23: changes[1].confidence:"; !strings.HasPrefix(r.Error, want) {
			t.Errorf("error %q does not start with %q", r.Error, want)
		}
	})
	t.Run("a batch whose id differs from its file name is an error row", func(t *testing.T) {
		got := byFile["proposals/b-renamed.yaml"]
		if len(got) != 1 || !strings.Contains(got[0].Error, "differs from the file name") {
			t.Errorf("rows = %+v", got)
		}
	})
	t.Run("a file that cannot be read is an error row", func(t *testing.T) {
		got := byFile["proposals/missing.yaml"]
		if len(got) != 1 || got[0].Error == "" {
			t.Errorf("rows = %+v", got)
		}
	})
	t.Run("a file outside the root keeps its own path", func(t *testing.T) {
		other := t.TempDir()
		write(t, other, map[string]string{"b-ok.yaml": validBatch})
		rows := check.Files(root, []string{filepath.Join(other, "b-ok.yaml")}, pol, check.Options{})
		if len(rows) == 0 || rows[0].File != filepath.Join(other, "b-ok.yaml") {
			t.Errorf("rows = %+v", rows)
		}
	})
}

func TestRowFailed(t *testing.T) {
	tests := []struct {
		name string
		row  check.Row
		want bool
	}{
		{"a denied change fails the check", check.Row{Decision: "deny", Rule: "no-phones"}, true},
		{"an invalid file fails the check", check.Row{Error: "x.yaml:3: bad"}, true},
		{"an auto change passes", check.Row{Decision: "auto"}, false},
		{"a change needing review passes", check.Row{Decision: "review"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.row.Failed(); got != tt.want {
				t.Errorf("Failed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"proposals/b.yaml":                  "x",
		"proposals/b.receipt.yaml":          "x",
		"proposals/a.yaml":                  "x",
		"proposals/a.rejected.yaml":         "x",
		"proposals/2026-11/c.yaml":          "x",
		"proposals/2026-11/c.receipt.yaml":  "x",
		"proposals/2026-11/c.rejected.yaml": "x",
		"proposals/notes.md":                "x",
		"proposals/old.yml":                 "x",
	})
	p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"a directory expands to its batch files, sharded ones included, sorted",
			[]string{p("proposals")},
			[]string{p("proposals/2026-11/c.yaml"), p("proposals/a.yaml"), p("proposals/b.yaml")}},
		{"a sub-folder expands to its own batch files",
			[]string{p("proposals/2026-11")},
			[]string{p("proposals/2026-11/c.yaml")}},
		{"a file named directly is kept as given",
			[]string{p("proposals/b.yaml")},
			[]string{p("proposals/b.yaml")}},
		{"files and directories mix",
			[]string{p("proposals/2026-11"), p("proposals/a.yaml")},
			[]string{p("proposals/2026-11/c.yaml"), p("proposals/a.yaml")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := check.Expand(tt.paths)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Expand =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
	t.Run("a path that does not exist is an error naming it", func(t *testing.T) {
		_, err := check.Expand([]string{p("nowhere")})
		if err == nil || !strings.Contains(err.Error(), "nowhere") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("an empty directory expands to nothing", func(t *testing.T) {
		empty := t.TempDir()
		got, err := check.Expand([]string{empty})
		if err != nil || len(got) != 0 {
			t.Errorf("Expand = %v, %v", got, err)
		}
	})
}

func TestCheckJudgesTheBatchNotItsClaims(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"proposals/b-ok.yaml": validBatch})
	file := []string{filepath.Join(root, "proposals", "b-ok.yaml")}
	created := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	t.Run("a batch created more than a day ahead of the clock is refused, naming file, line and key", func(t *testing.T) {
		pol, _ := policy.Load(policy.Path, []byte(policy.Default))
		rows := check.Files(root, file, pol, check.Options{Now: created.Add(-check.FutureSlack - time.Minute)})
		if len(rows) != 1 || !strings.HasPrefix(rows[0].Error, "proposals/b-ok.yaml:3: created:") {
			t.Fatalf("rows = %+v, want one error at proposals/b-ok.yaml:3: created", rows)
		}
		rows = check.Files(root, file, pol, check.Options{Now: created.Add(-check.FutureSlack + time.Minute)})
		if len(rows) == 0 || rows[0].Error != "" {
			t.Fatalf("a batch within the slack: rows = %+v", rows)
		}
	})
	t.Run("the proposer decides what an auto rule trusts", func(t *testing.T) {
		pol, err := policy.Load(policy.Path, []byte(policy.DefaultFor([]string{"github-actions[bot]"})))
		if err != nil {
			t.Fatal(err)
		}
		bot := check.Files(root, file, pol, check.Options{Proposer: policy.Proposer{Login: "github-actions[bot]"}})
		other := check.Files(root, file, pol, check.Options{Proposer: policy.Proposer{Login: "mallory"}})
		if bot[0].Decision != "auto" || other[0].Decision != "review" {
			t.Errorf("c1 by the bot %s, by mallory %s; want auto and review", bot[0].Decision, other[0].Decision)
		}
	})
}
