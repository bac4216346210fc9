package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/report"
)

// The report's golden files live with the report package; -update
// rewrites them (go test ./cmd/crmops -run Report -update).
const (
	reportGolden     = "../../internal/report/testdata/report.md"
	reportHTMLGolden = "../../internal/report/testdata/report.html"
)

func init() {
	// Another test file of this package may define -update too.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGoldens() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runReport runs crmops report with argv, the command added to the root
// as root.go will add it.
func runReport(h *harness, argv ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	f := newFactory(strings.NewReader(""), &out, &errOut, func(k string) string { return h.env[k] })
	f.now = func() time.Time { h.clock = h.clock.Add(time.Second); return h.clock }
	root := newRoot(f)
	if c, _, err := root.Find([]string{"report"}); err != nil || c == root {
		root.AddCommand(newReportCmd(f))
	}
	root.SetArgs(append([]string{"--repo", h.dir, "report"}, argv...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := exitOK
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = exitError
		var ue usageError
		if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown flag") {
			code = exitUsage
		}
		fmt.Fprintln(&errOut, "crmops: "+err.Error())
	}
	return result{out: out.String(), err: errOut.String(), code: code}
}

func reportOK(t *testing.T, h *harness, argv ...string) string {
	t.Helper()
	r := runReport(h, argv...)
	if r.code != 0 {
		t.Fatalf("crmops report %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, r.out, r.err)
	}
	return r.out
}

// hostileSource is a detector name (propose --source) full of Markdown
// and HTML: the report must show it as text.
const hostileSource = "clay | *weekly* <b>x</b> @alice"

// hostileReason is a rejection reason of the same kind.
const hostileReason = "wrong | title *here* <script>alert(1)</script> [x](http://evil.example) @bob"

func changeLine(kind, record, field, before, after, source string, confidence float64, trigger string) string {
	c := map[string]any{"kind": kind, "object": "contacts", "record": record, "op": "set", "field": field,
		"before": before, "after": after, "source": source, "confidence": confidence, "trigger": trigger}
	data, _ := json.Marshal(c)
	return string(data) + "\n"
}

// reportHistory builds a repository with a known history over four ISO
// weeks (2026-W48 to W51), on the local forge and the embedded CRM:
//
//	W48: two auto batches (one change of them stale), an overwrite approved
//	     after 3h, a merge approved after a day, an owner change rejected.
//	W49: a detector named with markup: an auto batch with a change to a
//	     missing record (failed) and one applied, its overwrite rejected
//	     with a hostile reason; another owner change rejected for the same
//	     reason as in W48.
//	W50: max_auto_changes_per_run lowered to 2: three auto fills give two
//	     auto and one held by the limit, approved after 5h; a batch pushed
//	     straight to main, refused.
//	W51: one proposal left open; one approved and merged, not applied.
//
// The report is made in W52, a week without batches.
func reportHistory(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.env["CRMOPS_LOGIN"] = ""
	h.initRepo()
	h.importCSV("contacts", contactsCSV)

	// W48
	first := h.propose(firstChanges)
	overwrite := findBatch(t, h, first, "review", 1, "enrichment")
	dedupe := findBatch(t, h, first, "review", 1, "dedupe")
	owner := findBatch(t, h, first, "review", 1, "owner")
	h.importCSV("contacts", "id,jobtitle\n1003,Intern\n")
	h.expect(exitProblem, "", []string{"apply"}, "stale")
	h.clock = h.clock.Add(3 * time.Hour)
	h.expectAs("alice", 0, []string{"review", "approve", overwrite.Batch})
	h.expectAs("bob", 0, []string{"merge", overwrite.Batch})
	h.ok("", "apply")
	h.clock = h.clock.Add(24 * time.Hour)
	h.expectAs("alice", 0, []string{"review", "approve", dedupe.Batch})
	h.expectAs("bob", 0, []string{"merge", dedupe.Batch})
	h.ok("", "apply")
	h.clock = h.clock.Add(2 * time.Hour)
	h.expectAs("alice", 0, []string{"review", "reject", owner.Batch, "--reason", "o-2 is back from leave"})

	// W49
	h.clock = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	weekly := h.propose(
		changeLine("enrichment", "9999", "jobtitle", "", "CFO", "clay", 0.97, "import")+
			changeLine("enrichment", "1004", "phone", "", "+1 555 0100", "clay", 0.99, "import")+
			changeLine("enrichment", "1001", "jobtitle", "VP Sales", "CRO", "clay", 0.8, "import"),
		"--source", hostileSource)
	if len(weekly) != 2 {
		t.Fatalf("W49: %d batches, want an auto one and a review one: %+v", len(weekly), weekly)
	}
	h.expect(exitProblem, "", []string{"apply"}, "failed")
	h.clock = h.clock.Add(time.Hour)
	h.expectAs("carol", 0, []string{"review", "reject", byDecision(weekly, "review")[0].Batch, "--reason", hostileReason})
	again := h.propose(changeLine("owner", "1003", "owner", "o-2", "o-3", "owner-rules", 1, "rule"))
	h.clock = h.clock.Add(30 * time.Minute)
	h.expectAs("alice", 0, []string{"review", "reject", again[0].Batch, "--reason", "o-2 is back from leave"})

	// W50
	h.clock = time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	h.pushToMain("lower the blast radius\n", map[string]string{policy.Path: strings.Replace(policy.Default,
		"max_auto_changes_per_run: 500", "max_auto_changes_per_run: 2  ", 1)})
	valid := func(record string) string {
		return changeLine("email_verification", record, "email_status", "", "valid", "zerobounce", 0.99, "import")
	}
	verified := h.propose(valid("1001")+valid("1003")+valid("1004"), "--source", "email-verify")
	held := byDecision(verified, "review")
	if len(held) != 1 {
		t.Fatalf("W50: want one batch held by the limit: %+v", verified)
	}
	h.ok("", "apply")
	h.clock = h.clock.Add(5 * time.Hour)
	h.expectAs("alice", 0, []string{"review", "approve", held[0].Batch})
	h.expectAs("bob", 0, []string{"merge", held[0].Batch})
	h.ok("", "apply")
	rogue := "20261209T100000Z-rogue-aaaaaa"
	h.pushToMain("add a batch\n", map[string]string{batch.Path(rogue): strings.Replace(batchFile(rogue, fillChange),
		"created: 2026-11-24T06:00:00Z", "created: 2026-12-09T10:00:00Z", 1)})
	h.expect(exitProblem, "", []string{"apply"}, "refused")

	// W51
	h.clock = time.Date(2026, 12, 15, 9, 0, 0, 0, time.UTC)
	open := h.propose(changeLine("enrichment", "1003", "jobtitle", "Intern", "Engineer", "clay", 0.8, "import"))
	if len(open) != 1 || open[0].State != "open" {
		t.Fatalf("W51: want one open proposal: %+v", open)
	}
	merged := h.propose(changeLine("owner", "1001", "owner", "o-1", "o-3", "owner-rules", 1, "rule"))
	h.clock = h.clock.Add(90 * time.Minute)
	h.expectAs("alice", 0, []string{"review", "approve", merged[0].Batch})
	h.expectAs("bob", 0, []string{"merge", merged[0].Batch})

	h.clock = time.Date(2026, 12, 22, 12, 0, 0, 0, time.UTC)
	return h
}

func TestReportOfAKnownHistory(t *testing.T) {
	h := reportHistory(t)
	md := reportOK(t, h)

	t.Run("the Markdown is the golden file's", func(t *testing.T) {
		reportGoldenFile(t, reportGolden, md)
	})

	t.Run("the Markdown renders on GitHub as tables and a Mermaid chart, every value as text", func(t *testing.T) {
		out, doc := renderGFM(t, md)
		tables := htmlElements(doc, "table")
		if len(tables) != 9 {
			t.Errorf("the page renders %d tables, want 9 (outcomes, weeks, detectors, rules, kinds, approval, reasons, limits, held)", len(tables))
		}
		for _, table := range tables {
			if len(htmlElements(table, "thead")) != 1 || len(htmlElements(table, "th")) < 2 || len(htmlElements(table, "tbody")) != 1 {
				t.Errorf("a table without a header and a body:\n%s", renderHTMLNode(table))
			}
		}
		var mermaid []*html.Node
		for _, c := range htmlElements(doc, "code") {
			if htmlAttr(c, "class") == "language-mermaid" {
				mermaid = append(mermaid, c)
			}
		}
		if len(mermaid) != 1 || !strings.Contains(nodeText(mermaid[0]), "xychart-beta") ||
			!strings.Contains(nodeText(mermaid[0]), `x-axis ["2026-W48", "2026-W49", "2026-W50", "2026-W51", "2026-W52"]`) ||
			!strings.Contains(nodeText(mermaid[0]), "bar [6, 4, 4, 2, 0]") {
			t.Errorf("no xychart-beta block with the weekly totals; page:\n%s", out)
		}
		for _, tag := range []string{"script", "b", "a", "img"} {
			if n := len(htmlElements(doc, tag)); n > 0 {
				t.Errorf("a value became markup: the page holds %d <%s> element(s)", n, tag)
			}
		}
		cells := map[string]bool{}
		for _, td := range htmlElements(doc, "td") {
			cells[strings.TrimSpace(nodeText(td))] = true
		}
		for _, want := range []string{hostileSource, hostileReason, "o-2 is back from leave", "limits.max_auto_changes_per_run", "email_verification"} {
			if !cells[want] {
				t.Errorf("no table cell reads %q exactly (escaping broke it)", want)
			}
		}
	})

	t.Run("--json gives the same numbers under stable keys", func(t *testing.T) {
		var got map[string]any
		if err := json.Unmarshal([]byte(reportOK(t, h, "--json")), &got); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]any{
			"totals.batches": 13.0, "totals.proposed": 16.0, "totals.auto": 5.0, "totals.approved": 3.0,
			"totals.rejected": 3.0, "totals.stale": 1.0, "totals.failed": 1.0, "totals.skipped": 0.0,
			"totals.refused": 1.0, "totals.pending": 2.0,
			"weeks.0.week": "2026-W48", "weeks.0.start": "2026-11-23", "weeks.0.proposed": 6.0, "weeks.4.week": "2026-W52",
			"detectors.0.name": "propose", "detectors.1.name": hostileSource, "detectors.1.failed": 1.0,
			"rules.0.name": report.NoRule, "kinds.0.name": "enrichment",
			// 5h and 1d 3h, plus the seconds the harness clock ticks per reading.
			"time_to_approval.batches": 3.0, "time_to_approval.median_seconds": 18008.0, "time_to_approval.p90_seconds": 97220.0,
			"time_to_approval.median": "5h", "time_to_approval.p90": "1d 3h",
			"rejections.batches": 3.0, "rejections.reasons.0.reason": "o-2 is back from leave", "rejections.reasons.0.batches": 2.0,
			"rejections.reasons.1.reason": hostileReason, "limits.batches": 1.0, "limits.by_limit.0.limit": "limits.max_auto_changes_per_run", "limits.held.0.changes": 1.0,
			"pending.open_batches": 1.0, "pending.unapplied_batches": 1.0, "pending.unapplied_changes": 1.0,
			"branch": "main", "since": nil, "outcomes.7": "pending", "unread.#": 0.0, "weeks.#": 5.0,
		} {
			if v := jsonAt(got, path); v != want {
				t.Errorf("%s = %v (%T), want %v", path, v, v, want)
			}
		}
		if base, _ := got["base"].(string); len(base) != 40 {
			t.Errorf("base = %q, want the base commit", base)
		}
	})

	t.Run("--since counts only the batches created since", func(t *testing.T) {
		var got report.Report
		if err := json.Unmarshal([]byte(reportOK(t, h, "--json", "--since", "2026-12-07")), &got); err != nil {
			t.Fatal(err)
		}
		if got.Totals.Batches != 5 || got.Totals.Proposed != 6 || got.Rejections.Batches != 0 || got.TimeToApproval.Batches != 1 ||
			len(got.Weeks) != 3 || got.Weeks[0].Week != "2026-W50" || got.Since == nil || !got.Since.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("since 2026-12-07: %+v", got)
		}
		if md := reportOK(t, h, "--since", "2026-12-07"); !strings.Contains(md, "batches created since 2026-12-07 00:00 UTC") {
			t.Errorf("the Markdown does not name the period:\n%s", md)
		}
	})

	t.Run("--since that is not a date is a usage error", func(t *testing.T) {
		if r := runReport(h, "--since", "last tuesday"); r.code != exitUsage || !strings.Contains(r.err, "--since") {
			t.Errorf("exit %d, stderr %q; want 2 naming --since", r.code, r.err)
		}
	})

	t.Run("--html writes a self-contained page that Chromium renders with its charts", func(t *testing.T) {
		page := filepath.Join(t.TempDir(), "report.html")
		if out := reportOK(t, h, "--html", page); !strings.HasPrefix(out, "## crmops report") {
			t.Errorf("with --html, stdout is not the Markdown report: %q", out)
		}
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		reportGoldenFile(t, reportHTMLGolden, string(data))
		checkSelfContained(t, data)
		var rep report.Report
		if err := json.Unmarshal([]byte(reportOK(t, h, "--json")), &rep); err != nil {
			t.Fatal(err)
		}
		checkRenderedPage(t, page, &rep)
	})
}

// checkSelfContained asserts that a page needs nothing from anywhere: no
// script, no stylesheet, image, frame or font to fetch, no link out, and
// every value from the history shown as text.
func checkSelfContained(t *testing.T, data []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignObject", "a", "b"} {
		if n := len(htmlElements(doc, tag)); n > 0 {
			t.Errorf("the page holds %d <%s> element(s)", n, tag)
		}
	}
	walkHTML(doc, func(n *html.Node) {
		for _, a := range n.Attr {
			if k := strings.ToLower(a.Key); k == "src" || k == "href" || strings.HasPrefix(k, "on") || (k == "xmlns" && a.Val != "http://www.w3.org/2000/svg") {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	})
	for _, style := range htmlElements(doc, "style") {
		if css := nodeText(style); strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
			t.Errorf("the stylesheet fetches something:\n%s", css)
		}
	}
	text := nodeText(doc)
	for _, want := range []string{hostileSource, hostileReason} {
		if !strings.Contains(text, want) {
			t.Errorf("the page's text lacks %q", want)
		}
	}
}

// Chromium, as Debian packages it; the test skips without it unless
// CRMOPS_REQUIRE_CHROMIUM=1 (as in CI).
const chromiumBin = "/usr/bin/chromium"

func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err != nil {
		msg := chromiumBin + " is missing, so the HTML report is not rendered; install Debian's headless Chromium with `apt-get install -y chromium` (as root)"
		if os.Getenv("CRMOPS_REQUIRE_CHROMIUM") == "1" {
			t.Fatal(msg + " (CRMOPS_REQUIRE_CHROMIUM=1 requires it)")
		}
		t.Skip(msg)
	}
	return chromiumBin
}

// runChromium runs headless Chromium with its own profile, offline in
// every way it allows, and returns its stdout.
func runChromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := chromiumOrSkip(t)
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\nstderr: %s", strings.Join(args, " "), err, lastLines(stderr.String(), 20))
	}
	return stdout.Bytes()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkRenderedPage renders page in Chromium: the screenshot has the
// weekly chart's coloured bars where the chart is, and the DOM Chromium
// built holds both charts' bars, one per week and outcome.
func checkRenderedPage(t *testing.T, page string, rep *report.Report) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, "--screenshot="+shot, "--window-size=1200,1600", "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1600 {
		t.Errorf("screenshot is %dx%d, want 1200x1600", b.Dx(), b.Dy())
	}
	// The weekly chart sits below the title and the summary cards.
	area := image.Rect(0, 250, 1200, 800).Intersect(img.Bounds())
	nonWhite, coloured := 0, 0
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			if r < 245 || g < 245 || b < 245 {
				nonWhite++
			}
			if max(r, g, b)-min(r, g, b) > 80 {
				coloured++
			}
		}
	}
	total := area.Dx() * area.Dy()
	t.Logf("chart area %v: %d of %d pixels not white, %d coloured", area, nonWhite, total, coloured)
	if nonWhite < total/20 || coloured < total/50 {
		t.Errorf("the chart area is blank: %d of %d pixels not white, %d coloured", nonWhite, total, coloured)
	}

	doc, err := html.Parse(bytes.NewReader(runChromium(t, "--dump-dom", "file://"+page)))
	if err != nil {
		t.Fatal(err)
	}
	bars := map[string]int{}
	for _, svg := range htmlElements(doc, "svg") {
		for _, r := range htmlElements(svg, "rect") {
			if htmlAttr(r, "class") == "bar" {
				bars[htmlAttr(svg, "id")]++
			}
		}
	}
	wantWeekly, wantDetectors := 0, 0
	for _, w := range rep.Weeks {
		for _, o := range report.Outcomes {
			if w.Of(o) > 0 {
				wantWeekly++
			}
		}
	}
	for _, d := range rep.Detectors {
		for _, o := range report.Outcomes {
			if d.Of(o) > 0 {
				wantDetectors++
			}
		}
	}
	if bars["weekly"] != wantWeekly || bars["detectors"] != wantDetectors || wantWeekly == 0 {
		t.Errorf("the rendered DOM has %d weekly and %d detector bars, want %d and %d", bars["weekly"], bars["detectors"], wantWeekly, wantDetectors)
	}
	if n := len(htmlElements(doc, "script")); n > 0 {
		t.Errorf("the rendered DOM holds %d script(s)", n)
	}
}

// reportGoldenFile compares got with the file at p; -update rewrites it.
func reportGoldenFile(t *testing.T, p, got string) {
	t.Helper()
	if updateGoldens() {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/crmops -run Report -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("the report differs from %s (go test ./cmd/crmops -run Report -update rewrites it):\n%s", p, got)
	}
}

// renderGFM renders Markdown as GitHub does (GFM tables, autolinks),
// letting raw HTML through so that markup a value smuggled in would show.
func renderGFM(t *testing.T, md string) (string, *html.Node) {
	t.Helper()
	var out bytes.Buffer
	g := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := g.Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), doc
}

func walkHTML(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkHTML(c, f)
	}
}

func htmlElements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walkHTML(n, func(n *html.Node) {
		if n.Type == html.ElementNode && strings.EqualFold(n.Data, tag) {
			out = append(out, n)
		}
	})
	return out
}

func nodeText(n *html.Node) string {
	var s strings.Builder
	walkHTML(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			s.WriteString(n.Data)
		}
	})
	return s.String()
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func renderHTMLNode(n *html.Node) string {
	var b bytes.Buffer
	_ = html.Render(&b, n)
	return b.String()
}

// jsonAt reads a dotted path from decoded JSON: keys, list indexes, and
// "#" for a list's length.
func jsonAt(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			if k == "#" {
				return float64(len(x))
			}
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return fmt.Sprintf("<no %s>", path)
			}
			v = x[i]
		default:
			return fmt.Sprintf("<no %s>", path)
		}
	}
	return v
}
