package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"
)

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"of":    func(c Counts, o Outcome) int { return c.Of(o) },
	"share": share,
	"clip":  func(s string) string { return clip(s, maxName) },
	"clipReason": func(s string) string {
		return clip(s, maxReason)
	},
	"date":     func(t time.Time) string { return t.Format(time.DateOnly) },
	"duration": func(n int64) string { return Duration(seconds(n)) },
	"color":    func(o Outcome) string { return colors[o] },
	"short":    short,
	"pair":     func(p pageData, c Counts) cellsOf { return cellsOf{p, c} },
	"titled": func(p pageData, title, what string, rows []Row) rowsOf {
		return rowsOf{p, title, what, rows}
	},
	"placeholder": func(s string) bool {
		return s == NotRecorded || s == NoRule || s == ReviewKeyLimit
	},
}).Parse(pageTemplate))

// HTML writes the report as one self-contained page for people to read
// and forward: inline CSS, inline SVG charts (weekly changes stacked by
// outcome, and changes per detector), the tables of Markdown, no script
// and nothing fetched from anywhere. html/template escapes every value.
func HTML(w io.Writer, r *Report) error {
	weeks := r.Weeks
	if len(weeks) > maxWeeks {
		weeks = weeks[len(weeks)-maxWeeks:]
	}
	data := pageData{R: r, Period: period(r), Weeks: weeks, Earlier: len(r.Weeks) - len(weeks), Cards: cards(r), Legend: legend(r),
		Weekly: weeklyChart(weeks), Detectors: detectorChart(r.Detectors)}
	data.Reasons, data.More = r.Rejections.Reasons, 0
	if len(data.Reasons) > maxReasons {
		data.Reasons, data.More = data.Reasons[:maxReasons], len(data.Reasons)-maxReasons
	}
	data.Held = r.Limits.Held
	if len(data.Held) > maxHeld {
		data.Held, data.MoreHeld = data.Held[:maxHeld], len(data.Held)-maxHeld
	}
	return page.Execute(w, data)
}

// pageData is what the page template shows.
type pageData struct {
	R         *Report
	Period    string
	Weeks     []Week // those shown: the latest maxWeeks
	Earlier   int    // weeks not shown
	Cards     []card
	Legend    []legendItem
	Weekly    chart
	Detectors chart
	Reasons   []Reason // those shown
	More      int      // reasons not shown
	Held      []Held   // those shown
	MoreHeld  int
}

// cellsOf and rowsOf carry the page along into the templates of a row's
// cells and of a table of rows.
type cellsOf struct {
	Page   pageData
	Counts Counts
}

type rowsOf struct {
	Page        pageData
	Title, What string
	Rows        []Row
}

func period(r *Report) string {
	p := "All batches"
	if r.Since != nil {
		p = "Batches created since " + r.Since.Format("2006-01-02 15:04") + " UTC"
	}
	return p
}

type card struct{ Label, Value, Note string }

func cards(r *Report) []card {
	t := r.Totals
	decided := t.Proposed - t.Pending
	out := []card{
		{"Changes proposed", fmt.Sprint(t.Proposed), fmt.Sprintf("in %d batch(es)", t.Batches)},
		{"Applied automatically", fmt.Sprint(t.Auto), share(t.Auto, decided) + " of decided changes"},
		{"Applied after approval", fmt.Sprint(t.Approved), share(t.Approved, decided) + " of decided changes"},
		{"Rejected", fmt.Sprint(t.Rejected), fmt.Sprintf("in %d batch(es)", r.Rejections.Batches)},
		{"Stale or failed", fmt.Sprint(t.Stale + t.Failed), fmt.Sprintf("%d stale, %d failed", t.Stale, t.Failed)},
		{"Pending", fmt.Sprint(t.Pending), fmt.Sprintf("%d open batch(es)", r.Pending.OpenBatches)},
	}
	if a := r.TimeToApproval; a.Batches > 0 {
		out = append(out, card{"Median time to approval", a.Median, "p90 " + a.P90 + fmt.Sprintf(", %d batch(es)", a.Batches)})
	} else {
		out = append(out, card{"Median time to approval", "–", "no approved batch"})
	}
	return out
}

type legendItem struct {
	Name  Outcome
	Color string
}

func legend(r *Report) []legendItem {
	var out []legendItem
	for _, o := range Outcomes {
		if r.Totals.Of(o) > 0 {
			out = append(out, legendItem{o, colors[o]})
		}
	}
	return out
}

// chart is an SVG chart laid out in whole pixels of its viewBox.
type chart struct {
	Width, Height int
	Bars          []bar
	Texts         []text
	Lines         []line
}

type bar struct {
	X, Y, W, H int
	Color      string
	Title      string
}

type text struct {
	X, Y   int
	Anchor string // start | middle | end
	Rotate bool   // -45° about (X, Y)
	Class  string
	Text   string
}

type line struct{ X1, Y1, X2, Y2 int }

// axis returns the top of a value axis holding top, and its step: about
// four steps of 1, 2 or 5 times a power of ten.
func axis(top int) (int, int) {
	if top < 1 {
		top = 1
	}
	raw := float64(top) / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 1
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = int(math.Max(1, m*pow))
			break
		}
	}
	return (top + step - 1) / step * step, step
}

// weeklyChart stacks each week's changes by outcome, bottom to top in the
// order of Outcomes.
func weeklyChart(weeks []Week) chart {
	const width, height, left, right, top, bottom = 1100, 380, 56, 16, 16, 84
	c := chart{Width: width, Height: height}
	if len(weeks) == 0 {
		return c
	}
	maxTotal := 0
	for _, w := range weeks {
		maxTotal = max(maxTotal, w.Proposed)
	}
	yMax, step := axis(maxTotal)
	plotW, plotH := width-left-right, height-top-bottom
	y := func(v int) int { return top + plotH - int(math.Round(float64(v)*float64(plotH)/float64(yMax))) }
	for v := 0; v <= yMax; v += step {
		c.Lines = append(c.Lines, line{left, y(v), width - right, y(v)})
		c.Texts = append(c.Texts, text{X: left - 8, Y: y(v) + 4, Anchor: "end", Class: "tick", Text: fmt.Sprint(v)})
	}
	slot := float64(plotW) / float64(len(weeks))
	barW := max(1, int(slot*0.7))
	every := (len(weeks) + 25) / 26 // at most 26 labels
	for i, w := range weeks {
		x := left + int(float64(i)*slot+(slot-float64(barW))/2)
		cum := 0
		for _, o := range Outcomes {
			n := w.Of(o)
			if n == 0 {
				continue
			}
			y0, y1 := y(cum), y(cum+n)
			c.Bars = append(c.Bars, bar{X: x, Y: y1, W: barW, H: y0 - y1, Color: colors[o], Title: fmt.Sprintf("%s: %d %s", w.Week, n, o)})
			cum += n
		}
		if i%every == 0 {
			c.Texts = append(c.Texts, text{X: x + barW/2, Y: top + plotH + 14, Anchor: "end", Rotate: true, Class: "tick", Text: w.Week})
		}
	}
	c.Lines = append(c.Lines, line{left, top + plotH, width - right, top + plotH})
	return c
}

// detectorChart is one bar per detector, stacked by outcome, with its
// total at the end; the detectors past maxDetectors are counted below it.
func detectorChart(rows []Row) chart {
	const width, left, right, rowH, barH, top = 1100, 260, 70, 30, 18, 8
	shown := rows
	if len(shown) > maxDetectors {
		shown = shown[:maxDetectors]
	}
	c := chart{Width: width, Height: top*2 + rowH*max(1, len(shown))}
	maxTotal := 1
	for _, r := range shown {
		maxTotal = max(maxTotal, r.Proposed)
	}
	plotW := width - left - right
	x := func(v int) int { return left + int(math.Round(float64(v)*float64(plotW)/float64(maxTotal))) }
	for i, r := range shown {
		y := top + i*rowH
		c.Texts = append(c.Texts, text{X: left - 10, Y: y + barH - 4, Anchor: "end", Class: "name", Text: clip(r.Name, 36)})
		cum := 0
		for _, o := range Outcomes {
			n := r.Of(o)
			if n == 0 {
				continue
			}
			c.Bars = append(c.Bars, bar{X: x(cum), Y: y, W: max(1, x(cum+n)-x(cum)), H: barH, Color: colors[o], Title: fmt.Sprintf("%s: %d %s", clip(r.Name, maxName), n, o)})
			cum += n
		}
		c.Texts = append(c.Texts, text{X: x(cum) + 6, Y: y + barH - 4, Anchor: "start", Class: "tick", Text: fmt.Sprint(r.Proposed)})
	}
	c.Lines = append(c.Lines, line{left, top - 4, left, top + rowH*max(1, len(shown)) - 8})
	return c
}

// maxDetectors bounds the detector chart; the tables list every detector.
const maxDetectors = 15

// Transform is the SVG transform of a rotated label.
func (t text) Transform() string {
	if !t.Rotate {
		return ""
	}
	return fmt.Sprintf("rotate(-45 %d %d)", t.X, t.Y)
}
