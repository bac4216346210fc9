package review

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/policy"
)

func TestDiffShowsWhatAReviewerNeeds(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		want          []string
	}{
		{"a short value shows both sides", "CTO", "Chief Technology Officer", []string{"- CTO", "+ Chief Technology Officer"}},
		{"an empty before says so", "", "VP Sales", []string{"- (empty)", "+ VP Sales"}},
		{
			"a repeated word is inserted whole, at a word's boundary",
			"The cat came back home at last, with a long line of text to be long enough",
			"The cat cat came back home at last, with a long line of text to be long enough",
			[]string{"~ The cat {+cat +}came back home at last, with a long line of text to be long enough"},
		},
		{
			"a long value shows only the words that changed",
			"Leads the sales team for the DACH region and reports to the chief revenue officer",
			"Leads the sales team for the Nordics region and reports to the chief revenue officer",
			[]string{"~ Leads the sales team for the [-DACH-]{+Nordics+} region and reports to the chief revenue officer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.before, tt.after)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Diff:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRenderNamesEachChangesDecisionAndRule(t *testing.T) {
	pol, err := policy.Load("policies/default.yaml", []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	b := &batch.Batch{Version: 1, ID: "b1", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "clay", Title: "t",
		Changes: []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", After: "VP Sales", Source: "clay", Confidence: 0.97, Reason: "row 17"},
			{ID: "c2", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "merge", MergeFrom: "1002", Source: "dedupe", Confidence: 0.9, Snapshot: map[string]string{"email": "a@x.com"}},
		}}
	var out bytes.Buffer
	Render(&out, b, pol.EvaluateBatch(b, policy.Proposer{}))
	for _, want := range []string{
		"decision review (rules: enrichment-fill-empty, dedupe-always-review; approvals needed: 1)",
		"c1  contacts/1001  jobtitle  [auto: enrichment-fill-empty]",
		"+ VP Sales",
		"why: row 17",
		"c2  merge contacts/1002 into contacts/1001  [review: dedupe-always-review]",
		"    not recorded   email  (not recorded)          a@x.com\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, out.String())
		}
	}
}

// renderHostileBatch holds, in every value a reviewer reads, escape sequences
// and invisible characters.
func renderHostileBatch() (*batch.Batch, policy.BatchVerdict) {
	const (
		up     = "\x1b[1A"
		erase  = "\x1b[2K"
		link   = "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"
		bell   = "\a"
		rlo    = "\u202E"
		hidden = "\u200B"
	)
	b := &batch.Batch{Version: 1, ID: "b1" + up, Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "clay" + erase, Title: "t" + link, Review: "now" + bell,
		Changes: []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001" + up + erase, Op: "set", Field: "jobtitle" + rlo,
				Before: "CTO\r", After: "VP Sales" + link, Source: "clay" + bell, Confidence: 0.97, Trigger: "import" + hidden, Reason: "row 17\r" + up + "\napproved" + erase},
			{ID: "c2", Kind: "enrichment", Object: "contacts", Record: "1002", Op: "set", Field: "about",
				Before: strings.Repeat("long text ", 10) + "\x1b[31m", After: strings.Repeat("long text ", 10) + "\x9b2K\r\nsecond line" + rlo, Source: "s\u009b"},
			{ID: "c3", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "unmerge", MergeFrom: "1003" + erase, Source: "revert", Confidence: 1,
				Snapshot: map[string]string{"email" + up: "a@x.com" + link, "name": "A\rB"}},
		}}
	bv := policy.BatchVerdict{Decision: policy.Review, Approvals: 1, Rules: []string{"r" + up}, Proposer: policy.Proposer{Login: "mallory" + erase, Outside: true},
		Frozen: true, Why: "why" + bell, Changes: []policy.Verdict{{Decision: policy.Review, Rule: "x" + up, Why: "guard" + rlo}, {Decision: policy.Review, Rule: "y"}, {Decision: policy.Review, Rule: "z"}}}
	return b, bv
}

func TestRenderShowsEscapeSequencesInsteadOfRunningThem(t *testing.T) {
	b, bv := renderHostileBatch()
	for _, col := range []display.Colors{display.NoColor, display.Colorful(true)} {
		var out bytes.Buffer
		RenderColors(&out, b, bv, col)
		// Colours are the only escape sequences; without them the text
		// is the plain one.
		got := sgr.ReplaceAllString(out.String(), "")
		checkHostileRender(t, got)
	}
}

func checkHostileRender(t *testing.T, got string) {
	t.Helper()
	const (
		rlo    = "\u202E"
		hidden = "\u200B"
	)

	for _, bad := range []string{"\x1b", "\a", "\r", "\x9b", "\u009b", rlo, hidden} {
		if strings.Contains(got, bad) {
			t.Errorf("the output holds %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{
		"batch    b1⟨U+001B⟩[1A",
		"proposer mallory⟨U+001B⟩[2K (as the forge knows it), from outside this repository",
		"detector clay⟨U+001B⟩[2K (as the batch says)",
		"frozen   the repository is frozen",
		"why      why⟨U+0007⟩",
		"c1  contacts/1001⟨U+001B⟩[1A⟨U+001B⟩[2K  jobtitle⟨U+202E⟩  [review: x⟨U+001B⟩[1A]",
		"- CTO⟨U+000D⟩",
		"+ VP Sales⟨U+001B⟩]8;;http://evil⟨U+001B⟩\\click⟨U+001B⟩]8;;⟨U+001B⟩\\",
		"    guard⟨U+202E⟩",
		"source clay⟨U+0007⟩ · confidence 0.97 · trigger import⟨U+200B⟩",
		"why: row 17⟨U+000D⟩⟨U+001B⟩[1A\n         approved⟨U+001B⟩[2K",
		"[-⟨U+001B⟩[31m-]",
		"{+⟨0x9B⟩2K⟨U+000D⟩",
		"source s⟨U+009B⟩",
		"~ second line⟨U+202E⟩",
		"unmerge contacts/1003⟨U+001B⟩[2K from contacts/1001",
		"written to the split-out record:",
		"email⟨U+001B⟩[1A: a@x.com⟨U+001B⟩]8;;",
		"name: A⟨U+000D⟩B",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestRenderInColourIsThePlainTextWithColours(t *testing.T) {
	b, bv := renderHostileBatch()
	b.Changes = append(b.Changes, batch.Change{ID: "c4", Kind: "enrichment", Object: "contacts", Record: "1004", Op: "set", Field: "jobtitle", After: "VP", Source: "clay"})
	bv.Changes = append(bv.Changes, policy.Verdict{Decision: policy.Auto, Rule: "fill"})
	var plain, none, coloured bytes.Buffer
	Render(&plain, b, bv)
	RenderColors(&none, b, bv, display.NoColor)
	RenderColors(&coloured, b, bv, display.Colorful(true))
	if none.String() != plain.String() {
		t.Errorf("RenderColors without colour differs from Render")
	}
	if sgr.ReplaceAllString(coloured.String(), "") != plain.String() {
		t.Errorf("colours removed, the coloured render is not the plain one:\n%s\n---\n%s", coloured.String(), plain.String())
	}
	for _, want := range []string{
		"\x1b[1mbatch\x1b[22m    b1",
		"decision\x1b[22m \x1b[33mreview\x1b[0m",
		"[\x1b[32mauto\x1b[0m: fill]",
		"\x1b[31m- CTO⟨U+000D⟩\x1b[0m",
		"\x1b[32m+ VP\x1b[0m",
		"\x1b[31m[-⟨U+001B⟩[31m-]\x1b[0m",
	} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured render lacks %q:\n%q", want, coloured.String())
		}
	}
	// An inline insertion over two lines is coloured line by line.
	lines := DiffColors(strings.Repeat("long text ", 10), strings.Repeat("long text ", 10)+"new\nsecond", display.Colorful(true))
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "\x1b[0m") || !strings.HasPrefix(lines[1], "~ \x1b[32m") {
		t.Errorf("a two-line insertion: %q", lines)
	}
}
