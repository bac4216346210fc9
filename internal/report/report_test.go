package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
)

var monday = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // 2026-W48

func set(id, kind string) batch.Change {
	return batch.Change{ID: id, Kind: kind, Object: "contacts", Record: "1", Op: batch.OpSet, Field: "f", After: "x", Source: "s", Confidence: 1}
}

func newBatch(id, detector string, created time.Time, changes ...batch.Change) *batch.Batch {
	return &batch.Batch{Version: 1, ID: id, Created: created, Detector: detector, Changes: changes}
}

func receipt(id, mode string, results ...batch.ChangeResult) *batch.Receipt {
	return &batch.Receipt{Version: 1, Batch: id, Approval: batch.Approval{Mode: mode}, Changes: results}
}

func result(id, status string) batch.ChangeResult { return batch.ChangeResult{ID: id, Status: status} }

func TestReportCountsEveryChangeOnceByHowItEnded(t *testing.T) {
	applied := newBatch("b1", "enrichment", monday, set("c1", "enrichment"), set("c2", "enrichment"), set("c3", "enrichment"),
		set("c4", "enrichment"), set("c5", "enrichment"), set("c6", "enrichment"))
	approved := newBatch("b2", "owners", monday, set("c1", "owner"))
	refused := newBatch("b3", "rogue", monday, set("c1", "enrichment"), set("c2", "enrichment"))
	open := newBatch("b4", "enrichment", monday, set("c1", "lifecycle"))
	unapplied := newBatch("b5", "enrichment", monday, set("c1", "enrichment"))
	h := &History{Entries: []Entry{
		{ID: "b1", Batch: applied, Receipt: receipt("b1", batch.ModeAuto, result("c1", batch.StatusApplied), result("c2", batch.StatusAlreadyApplied),
			result("c3", batch.StatusStale), result("c4", batch.StatusFailed), result("c5", batch.StatusSkipped))}, // c6: apply was interrupted
		{ID: "b2", Batch: approved, Receipt: receipt("b2", batch.ModeApproved, result("c1", batch.StatusApplied))},
		{ID: "b3", Batch: refused, Receipt: receipt("b3", batch.ModeRefused, result("c1", batch.StatusSkipped), result("c2", batch.StatusSkipped))},
		{ID: "b4", Batch: open, Open: true},
		{ID: "b5", Batch: unapplied, MergeRules: []string{"enrichment-overwrite"}, MergeDecision: "approved"},
		{ID: "20261124T060000Z-dedupe-abcdef", Rejection: &batch.Rejection{Batch: "20261124T060000Z-dedupe-abcdef", At: monday, Reason: "not the same person",
			Changes: []batch.RejectedChange{{ID: "c1", Op: batch.OpMerge}, {ID: "c2", Op: batch.OpSet}}}},
	}}
	r := Build(h, Options{Now: monday})
	want := Counts{Batches: 6, Proposed: 13, Auto: 2, Approved: 1, Rejected: 2, Stale: 1, Failed: 1, Skipped: 1, Refused: 2, Pending: 3}
	if r.Totals != want {
		t.Errorf("totals\n got %+v\nwant %+v", r.Totals, want)
	}
	if p := r.Pending; p != (PendingWork{OpenBatches: 1, OpenChanges: 1, UnappliedBatches: 2, UnappliedChanges: 2}) {
		t.Errorf("pending = %+v; want the open batch, and the interrupted and the unapplied ones", p)
	}
	kinds := map[string]int{}
	for _, k := range r.Kinds {
		kinds[k.Name] = k.Proposed
	}
	if fmt.Sprint(kinds) != fmt.Sprint(map[string]int{"enrichment": 9, "owner": 1, "lifecycle": 1, "dedupe": 1, NotRecorded: 1}) {
		t.Errorf("kinds = %v; a rejected merge is dedupe, a rejected set's kind is not recorded", kinds)
	}
	rules := map[string]int{}
	for _, x := range r.Rules {
		rules[x.Name] = x.Batches
	}
	if rules["enrichment-overwrite"] != 1 || rules[NoRule] != 5 {
		t.Errorf("rules = %v; want the merge commit's rule for the unapplied batch, none recorded for the rest", rules)
	}
	if r.Detectors[0].Name != "enrichment" || r.Detectors[len(r.Detectors)-1].Name != "owners" {
		t.Errorf("detectors not by volume: %+v", r.Detectors)
	}
	// The rejected batch's id names the dedupe detector, which no other
	// batch does: the slug stands for it.
	found := false
	for _, d := range r.Detectors {
		found = found || d.Name == "dedupe"
	}
	if !found {
		t.Errorf("the rejected batch's detector is not named by its id: %+v", r.Detectors)
	}
}

func TestReportTimeToApprovalIsTheMedianAndP90FromProposalToFirstApproval(t *testing.T) {
	var entries []Entry
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("b%02d", i)
		rc := receipt(id, batch.ModeApproved, result("c1", batch.StatusApplied))
		// The first approval counts, whatever order the approvers are in.
		rc.Approval.Approvers = []batch.Approver{
			{Login: "bob", At: monday.Add(time.Duration(i)*time.Hour + time.Hour)},
			{Login: "alice", At: monday.Add(time.Duration(i) * time.Hour)},
		}
		entries = append(entries, Entry{ID: id, Batch: newBatch(id, "d", monday, set("c1", "enrichment")), Receipt: rc})
	}
	auto := receipt("auto", batch.ModeAuto, result("c1", batch.StatusApplied))
	entries = append(entries, Entry{ID: "auto", Batch: newBatch("auto", "d", monday, set("c1", "enrichment")), Receipt: auto})
	a := Build(&History{Entries: entries}, Options{Now: monday}).TimeToApproval
	want := Approval{Batches: 10, MedianSeconds: 5*3600 + 1800, P90Seconds: 9 * 3600, MinSeconds: 3600, MaxSeconds: 10 * 3600, Median: "5h 30m", P90: "9h"}
	if a != want {
		t.Errorf("time to approval\n got %+v\nwant %+v", a, want)
	}

	// An approval the batch's own created time claims to precede counts as
	// immediate, never negative.
	early := receipt("e", batch.ModeApproved, result("c1", batch.StatusApplied))
	early.Approval.Approvers = []batch.Approver{{Login: "alice", At: monday.Add(-time.Hour)}}
	a = Build(&History{Entries: []Entry{{ID: "e", Batch: newBatch("e", "d", monday, set("c1", "enrichment")), Receipt: early}}}, Options{Now: monday}).TimeToApproval
	if a.Batches != 1 || a.MedianSeconds != 0 {
		t.Errorf("an approval before creation: %+v", a)
	}
}

func TestReportWeeksAreISOWeeksWithNoneLeftOutAcrossTheYearsEnd(t *testing.T) {
	dec := time.Date(2026, 12, 29, 10, 0, 0, 0, time.UTC) // a Tuesday of 2026-W53
	jan := time.Date(2027, 1, 12, 10, 0, 0, 0, time.UTC)  // 2027-W02
	h := &History{Entries: []Entry{
		{ID: "a", Batch: newBatch("a", "d", dec, set("c1", "enrichment")), Open: true},
		{ID: "b", Batch: newBatch("b", "d", jan, set("c1", "enrichment")), Open: true},
	}}
	r := Build(h, Options{Now: jan.AddDate(0, 0, 7)})
	var got []string
	for _, w := range r.Weeks {
		got = append(got, fmt.Sprintf("%s %s %d", w.Week, w.Start, w.Proposed))
	}
	want := []string{"2026-W53 2026-12-28 1", "2027-W01 2027-01-04 0", "2027-W02 2027-01-11 1", "2027-W03 2027-01-18 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("weeks\n got %v\nwant %v", got, want)
	}
	// --since starts the weeks at its own, and leaves earlier batches out.
	r = Build(h, Options{Now: jan, Since: time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)})
	if r.Totals.Batches != 1 || len(r.Weeks) != 2 || r.Weeks[0].Week != "2027-W01" {
		t.Errorf("since 2027-01-05: %d batches, weeks %+v", r.Totals.Batches, r.Weeks)
	}
}

func TestReportLimitsAreNamedByTheReviewKeyAndTheRules(t *testing.T) {
	held := newBatch("held", "d", monday, set("c1", "enrichment"), set("c2", "enrichment"))
	held.Review = "this run's auto changes passed limits.max_auto_changes_per_run (500)"
	ruled := newBatch("ruled", "d", monday.Add(time.Hour), set("c1", "enrichment"))
	rc := receipt("ruled", batch.ModeApproved, result("c1", batch.StatusApplied))
	rc.Approval.Rules = []string{"limits.max_changes_per_batch", "enrichment-fill-empty", "limit:custom"}
	agent := newBatch("agent", "mcp", monday.Add(2*time.Hour), set("c1", "enrichment"))
	agent.Review = "proposed by the AI agent bot, which crmops.yaml does not allow auto changes (agents.bot.auto)"
	r := Build(&History{Entries: []Entry{
		{ID: "held", Batch: held, Open: true}, {ID: "ruled", Batch: ruled, Receipt: rc}, {ID: "agent", Batch: agent, Open: true},
		{ID: "plain", Batch: newBatch("plain", "d", monday, set("c1", "enrichment")), Open: true},
	}}, Options{Now: monday})
	got, _ := json.Marshal(r.Limits)
	want := `{"batches":3,"changes":4,"by_limit":[` +
		`{"limit":"(review key naming no limit)","batches":1,"changes":1},{"limit":"limit:custom","batches":1,"changes":1},` +
		`{"limit":"limits.max_auto_changes_per_run","batches":1,"changes":2},{"limit":"limits.max_changes_per_batch","batches":1,"changes":1}],` +
		`"held":[` +
		`{"batch":"agent","created":"2026-11-23T11:00:00Z","limits":["(review key naming no limit)"],"changes":1,"review":"proposed by the AI agent bot, which crmops.yaml does not allow auto changes (agents.bot.auto)"},` +
		`{"batch":"ruled","created":"2026-11-23T10:00:00Z","limits":["limit:custom","limits.max_changes_per_batch"],"changes":1,"review":""},` +
		`{"batch":"held","created":"2026-11-23T09:00:00Z","limits":["limits.max_auto_changes_per_run"],"changes":2,"review":"this run's auto changes passed limits.max_auto_changes_per_run (500)"}]}`
	if string(got) != want {
		t.Errorf("limits\n got %s\nwant %s", got, want)
	}
}

func TestReportDurationReadsForPeople(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 40 * time.Second: "40s", 12*time.Minute + 5*time.Second: "12m 5s", 3*time.Hour + 20*time.Minute + 9*time.Second: "3h 20m",
		5 * time.Hour: "5h", 27*time.Hour + 5*time.Minute: "1d 3h", 48 * time.Hour: "2d", 49*time.Hour + 30*time.Minute: "2d 1h",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// hostileHistory holds values from proposers and reviewers written to
// break out of Markdown and HTML.
func hostileHistory() *History {
	det := "det | *x* <script>alert(1)</script> [l](http://e.example) @alice #1 \x1b[31m"
	b := newBatch("b1", det, monday, set("c1", "enrichment"))
	rc := receipt("b1", batch.ModeApproved, result("c1", batch.StatusApplied))
	rc.Approval.Rules = []string{"rule|<img src=x onerror=alert(1)>", "limit:<b>blast</b>"}
	rc.Approval.Approvers = []batch.Approver{{Login: "alice", At: monday.Add(time.Hour)}}
	b2 := newBatch("b2", "d", monday, set("c1", "enrichment"))
	b2.Review = "passed limits.max_auto_changes_per_run <b>(9)</b>"
	return &History{
		Entries: []Entry{
			{ID: "b1", Batch: b, Receipt: rc},
			{ID: "b2", Batch: b2, Open: true},
			{ID: "20261124T060000Z-x-abcdef", Rejection: &batch.Rejection{Batch: "20261124T060000Z-x-abcdef", At: monday,
				Reason: "line one | `code`\n## heading <!-- c --> </td></tr></table><script>x</script>", Changes: []batch.RejectedChange{{ID: "c1", Op: "set"}}}},
		},
		Problems: []Problem{{File: "proposals/<b>.yaml", Error: "proposals/<b>.yaml:3: batch: <i>bad</i>"}},
	}
}

func TestReportNamesFromTheHistoryStayTextInMarkdownAndHTML(t *testing.T) {
	r := Build(hostileHistory(), Options{Now: monday, Branch: "main", Base: strings.Repeat("a", 40)})

	t.Run("Markdown", func(t *testing.T) {
		var out bytes.Buffer
		g := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
		if err := g.Convert([]byte(Markdown(r)), &out); err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(&out)
		if err != nil {
			t.Fatal(err)
		}
		allowed := map[string]bool{"html": true, "head": true, "body": true, "h2": true, "h3": true, "p": true, "strong": true, "em": true,
			"code": true, "pre": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "ul": true, "li": true, "br": true}
		walk(doc, func(n *html.Node) {
			switch {
			case n.Type == html.ElementNode && !allowed[n.Data]:
				t.Errorf("the page holds a <%s> element", n.Data)
			case n.Type == html.CommentNode:
				t.Errorf("the page holds a comment %q", n.Data)
			case n.Type == html.TextNode && strings.ContainsRune(n.Data, '\x1b'):
				t.Errorf("an escape character reached the page: %q", n.Data)
			}
		})
		cells := map[string]bool{}
		walk(doc, func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "td" {
				cells[strings.TrimSpace(textOf(n))] = true
			}
		})
		for _, want := range []string{
			"det | *x* <script>alert(1)</script> [l](http://e.example) @alice #1 ⟨U+001B⟩[31m",
			"rule|<img src=x onerror=alert(1)>", "limit:<b>blast</b>", "proposals/<b>.yaml",
			"line one | `code`## heading <!-- c --> </td></tr></table><script>x</script>",
		} {
			if !cells[want] {
				t.Errorf("no cell reads %q; cells: %q", want, keys(cells))
			}
		}
	})

	t.Run("HTML", func(t *testing.T) {
		var out bytes.Buffer
		if err := HTML(&out, r); err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.Data {
			case "script", "img", "b", "i", "a", "iframe", "link":
				t.Errorf("the page holds a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "src" || a.Key == "href" {
					t.Errorf("<%s> has %s=%q", n.Data, a.Key, a.Val)
				}
			}
		})
		page := textOf(doc)
		for _, want := range []string{"det | *x* <script>alert(1)</script>", "rule|<img src=x onerror=alert(1)>", "limit:<b>blast</b>", "</td></tr></table><script>x</script>"} {
			if !strings.Contains(page, want) {
				t.Errorf("the page's text lacks %q", want)
			}
		}
	})
}

func TestReportIsTheSameWhateverOrderItsHistoryIsIn(t *testing.T) {
	h := hostileHistory()
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("x%d", i)
		b := newBatch(id, fmt.Sprintf("d%d", i%3), monday.AddDate(0, 0, 3*i), set("c1", batch.Kinds[i%len(batch.Kinds)]))
		h.Entries = append(h.Entries, Entry{ID: id, Batch: b, Rejection: &batch.Rejection{Reason: fmt.Sprintf("r%d", i%2)}})
	}
	render := func(h *History) string {
		r := Build(h, Options{Now: monday.AddDate(0, 1, 0)})
		var page bytes.Buffer
		if err := HTML(&page, r); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(r)
		return Markdown(r) + page.String() + string(data)
	}
	want := render(h)
	n := len(h.Entries)
	for shift := 1; shift < 2*n; shift++ {
		// Every rotation, forwards and backwards.
		moved := &History{Problems: h.Problems}
		for i := range n {
			k := (i + shift) % n
			if shift >= n {
				k = (2*n - 1 - i + shift) % n
			}
			moved.Entries = append(moved.Entries, h.Entries[k])
		}
		if got := render(moved); got != want {
			t.Fatalf("the report changed with the order of its history (shift %d)", shift)
		}
	}
}

// fakeGit is a repository of files at one base commit and on branches,
// counting reads.
type fakeGit struct {
	base     gitrepo.Hash
	files    map[gitrepo.Hash]map[string]string
	blobs    map[gitrepo.Hash]string
	refs     map[string]gitrepo.Hash
	commits  []*gitrepo.Commit // first-parent history from base, newest first
	reads    map[string]int
	logReads int
}

func (g *fakeGit) ListFiles(commit gitrepo.Hash, dir string) ([]string, error) {
	var out []string
	for p := range g.files[commit] {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (g *fakeGit) ReadFile(commit gitrepo.Hash, path string) ([]byte, error) {
	g.reads[path]++
	data, ok := g.files[commit][path]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(data), nil
}

func (g *fakeGit) Blob(h gitrepo.Hash) ([]byte, error) {
	g.reads["blob "+h.String()]++
	data, ok := g.blobs[h]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(data), nil
}

func (g *fakeGit) Ref(name string) (gitrepo.Hash, error) {
	h, ok := g.refs[name]
	if !ok {
		return gitrepo.ZeroHash, gitrepo.ErrRefNotFound
	}
	return h, nil
}

func (g *fakeGit) Log(from gitrepo.Hash, firstParent bool, fn func(*gitrepo.Commit) error) error {
	for _, c := range g.commits {
		g.logReads++
		if err := fn(c); err != nil {
			if err == gitrepo.ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}

func batchYAML(id string, created time.Time, detector string, changes ...string) string {
	return fmt.Sprintf("version: 1\nbatch: %s\ncreated: %s\ndetector: %s\ntitle: t\nchanges:\n%s", id, created.Format(time.RFC3339), detector, strings.Join(changes, ""))
}

func changeYAML(id, record, after string) string {
	return fmt.Sprintf("  - id: %s\n    kind: enrichment\n    object: contacts\n    record: %q\n    op: set\n    field: jobtitle\n    before: \"\"\n    after: %s\n    source: clay\n    confidence: 0.99\n", id, record, after)
}

func receiptYAML(id, mode, blob string, statuses ...string) string {
	s := fmt.Sprintf("version: 1\nbatch: %s\napproval:\n  mode: %s\n  approvers: []\n  rules: [enrichment-fill-empty]\nexecuted_by: crmops/test\n", id, mode)
	if blob != "" {
		s += "batch_blob: " + blob + "\n"
	}
	s += "changes:\n"
	for i, st := range statuses {
		s += fmt.Sprintf("  - id: c%d\n    status: %s\n    observed_before: \"\"\n    after: x\n    at: 2026-11-24T06:00:00Z\n    error: \"\"\n", i+1, st)
	}
	return s
}

func TestReportLoadReadsEachFileOnceAndOnlyWhatThePeriodNeeds(t *testing.T) {
	base, branch := gitrepo.Hash{1}, gitrepo.Hash{2}
	oldID, newID, editedID, mergedID := "20261001T060000Z-old-aaaaaa", "20261124T060000Z-new-bbbbbb", "20261124T070000Z-edited-cccccc", "20261124T080000Z-merged-dddddd"
	rejectedID, goneID := "20261125T060000Z-clay-eeeeee", "20261125T070000Z-gone-ffffff"
	ran := batchYAML(editedID, monday, "clay", changeYAML("c1", "1", "A"), changeYAML("c2", "2", "B"))
	ranBlob := gitrepo.BlobHash([]byte(ran))
	rejected := batchYAML(rejectedID, monday.AddDate(0, 0, 2), "clay", changeYAML("c1", "3", "C"))
	g := &fakeGit{
		base:  base,
		reads: map[string]int{},
		files: map[gitrepo.Hash]map[string]string{
			base: {
				batch.Path(oldID):                                    batchYAML(oldID, time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC), "clay", changeYAML("c1", "1", "A")),
				batch.ReceiptPath(batch.Path(oldID)):                 receiptYAML(oldID, "auto", "", "applied"),
				batch.Path(newID):                                    batchYAML(newID, monday, "clay", changeYAML("c1", "1", "A"), changeYAML("c2", "2", "B")),
				batch.ReceiptPath(batch.Path(newID)):                 receiptYAML(newID, "auto", "", "applied", "stale"),
				batch.Path(editedID):                                 batchYAML(editedID, monday, "clay", changeYAML("c1", "1", "A")), // c2 deleted after it ran
				batch.ReceiptPath(batch.Path(editedID)):              receiptYAML(editedID, "auto", ranBlob.String(), "applied", "failed"),
				batch.Path(mergedID):                                 batchYAML(mergedID, monday, "clay", changeYAML("c1", "4", "D")),
				batch.RejectionPath(batch.Path(rejectedID)):          fmt.Sprintf("version: 1\nbatch: %s\nrejected_by: alice\nat: 2026-11-26T06:00:00Z\nreason: no\nchanges:\n  - {id: c1, object: contacts, record: \"3\", op: set, field: jobtitle, after: C}\n", rejectedID),
				batch.RejectionPath(batch.Path(goneID)):              fmt.Sprintf("version: 1\nbatch: %s\nrejected_by: alice\nat: 2026-11-26T06:00:00Z\nchanges: []\n", goneID),
				"proposals/2026-11/20261124T090000Z-bad-999999.yaml": "version: 1\nbatch: 20261124T090000Z-bad-999999\ncolour: red\n",
			},
			branch: {batch.Path(rejectedID): rejected},
		},
		blobs: map[gitrepo.Hash]string{ranBlob: ran},
		refs:  map[string]gitrepo.Hash{"refs/remotes/origin/" + forge.BranchPrefix + rejectedID: branch},
		commits: []*gitrepo.Commit{
			{Parents: []gitrepo.Hash{{3}, {4}}, Trailers: []gitrepo.Trailer{{Key: "Crmops-Batch", Value: mergedID}, {Key: "Crmops-Decision", Value: "approved"}, {Key: "Crmops-Rule", Value: "enrichment-overwrite"}}},
			{Parents: []gitrepo.Hash{{5}}},
			{Parents: []gitrepo.Hash{{6}}},
		},
	}
	openID := "20261126T060000Z-propose-121212"
	opens := []*forge.Open{
		{BatchID: openID, Path: batch.Path(openID), Content: []byte(batchYAML(openID, monday.AddDate(0, 0, 3), "propose", changeYAML("c1", "9", "Z")))},
		{BatchID: newID, Path: batch.Path(newID), Content: []byte("not even yaml: [")}, // already on the base branch: not read
	}
	h, err := Load(Source{Git: g, Base: base, Remote: "origin", Opens: opens}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for path, n := range g.reads {
		if n != 1 {
			t.Errorf("%s read %d times", path, n)
		}
	}
	if g.reads[batch.ReceiptPath(batch.Path(oldID))] != 0 {
		t.Error("the receipt of a batch before the period was read")
	}
	if g.logReads != 1 {
		t.Errorf("the history walk read %d commits; the merge was the first", g.logReads)
	}
	var got []string
	for _, e := range h.Entries {
		got = append(got, fmt.Sprintf("%s changes=%d open=%v receipt=%v rejection=%v rules=%v", e.ID, len(e.outcomes()), e.Open, e.Receipt != nil, e.Rejection != nil, e.Rules()))
	}
	want := []string{
		newID + " changes=2 open=false receipt=true rejection=false rules=[enrichment-fill-empty]",
		editedID + " changes=2 open=false receipt=true rejection=false rules=[enrichment-fill-empty]", // the version that ran
		mergedID + " changes=1 open=false receipt=false rejection=false rules=[enrichment-overwrite]", // from its merge commit
		rejectedID + " changes=1 open=false receipt=false rejection=true rules=[]",
		goneID + " changes=0 open=false receipt=false rejection=true rules=[]",
		openID + " changes=1 open=true receipt=false rejection=false rules=[]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range h.Entries {
		if e.ID == rejectedID && (e.Batch == nil || e.Batch.Detector != "clay") {
			t.Errorf("the rejected batch was not read from its proposal branch: %+v", e.Batch)
		}
	}
	if len(h.Problems) != 1 || !strings.Contains(h.Problems[0].File, "bad-999999") || !strings.Contains(h.Problems[0].Error, "colour") {
		t.Errorf("problems = %+v; want the undecodable batch, by file and key", h.Problems)
	}
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func textOf(n *html.Node) string {
	var s strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			s.WriteString(n.Data)
		}
	})
	return s.String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
