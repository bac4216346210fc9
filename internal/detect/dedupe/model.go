package dedupe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// The linkage model is Fellegi and Sunter's, trained the way Splink trains
// it. Each comparison puts a pair at one of its levels; a level has m, the
// probability of that level for two records of one person (or company),
// and u, its probability for two records picked at random. Its match weight
// is log2(m/u). A pair's match weight is the prior's log-odds plus the
// weights of its levels (0 for a missing value) plus, for an exact
// agreement, a term-frequency adjustment log2(u_exact/tf(v)): agreeing on a
// value a tenth of the records share says less than agreeing on one only
// two records have. The pair's probability of being one record, the
// merge's confidence, is 1/(1+2^-weight).
//
//   - u comes from random pairs of the data (a fixed-seed sample, so runs
//     are repeatable), and the exact level's u from the value counts;
//   - m and the share of matches among the candidate pairs come from
//     expectation-maximisation over the candidate pairs with u fixed;
//   - the prior, the probability that two random records match, is the
//     expected number of matches among the candidates over all pairs.
//
// Every estimate starts from the kinds table (compare.go), which holds
// documented starting values like Splink's, and the data moves it in
// proportion to the evidence it holds: each is a Dirichlet posterior mean,
// the table counting as uPriorPairs random pairs for u, as mPriorMatches
// matching pairs for m, and as tfPriorRecords records for a value's
// frequency. A CRM of a million records is all data; a CRM of five records
// is nearly all table. Without the priors a tiny CRM learns nothing
// usable: in five contacts two copies of one person make their own email
// and name look common (a value 2 of 5 records share), so that agreeing on
// them scores as evidence against, and EM fits m to one or two pairs.

// uPriorPairs is how many random pairs the kinds table's u counts for.
const uPriorPairs = 1000

// mPriorMatches is how many matching pairs the kinds table's m counts for
// in each EM session.
const mPriorMatches = 10

// tfPriorRecords is how many records the kinds table's exact u counts for
// in a value's frequency: a value's frequency is (count + tfPriorRecords *
// u_exact) / (records + tfPriorRecords), the posterior mean under a
// symmetric Dirichlet prior over 1/u_exact equally common values.
const tfPriorRecords = 50

// maxComparisons is how many comparisons a pair's levels pack into one
// uint64 (four bits each).
const maxComparisons = 16

// comparison is one compared field of the model.
type comparison struct {
	name string
	kind *kindDef
	cols []int // the table columns compared (phone and mobilephone: both)
	// other is, for a name part, the column of the other part (first for
	// last and last for first), to see swapped names; -1 otherwise.
	other int
	first bool // a given name: nicknames and other-gender forms apply
	ident bool // an identifier (identifiers:)
	// identity says an agreement here is evidence of the person, not of
	// where they work or live (see veto).
	identity bool
	// site says another house number is another place: for companies, two
	// addresses are two sites (branches of one organisation share a name
	// and a switchboard, not a door).
	site bool
}

// level is the level of records i and j for comparison c.
func (t *table) level(c *comparison, i, j int) uint8 {
	if len(c.cols) > 1 {
		best := uint8(0)
		for _, x := range c.cols {
			for _, y := range c.cols {
				va, vb := t.cols[x].val(i), t.cols[y].val(j)
				if va == 0 || vb == 0 {
					continue
				}
				var l uint8 = 1
				if va != vb || x != y {
					l = compareValues(c.kind.name, t.cols[x].in.str(va), t.cols[y].in.str(vb))
				}
				if best == 0 || l < best {
					best = l
				}
			}
		}
		return best
	}
	col := t.cols[c.cols[0]]
	va, vb := col.val(i), col.val(j)
	if va == 0 || vb == 0 {
		return 0
	}
	switch c.kind.name {
	case kindEmail:
		// A role address (info@, sales@) says which company, not which
		// person: no evidence either way.
		if col.role[va] || col.role[vb] {
			return 0
		}
	case kindName:
		if va == vb {
			return nameExact
		}
		ao, bo := "", ""
		if c.other >= 0 {
			ao, bo = t.cols[c.other].str(i), t.cols[c.other].str(j)
		}
		return compareNames(col.in.str(va), col.in.str(vb), ao, bo, c.first)
	}
	if va == vb {
		return 1
	}
	if col.weights != nil {
		return compareText(col.in.str(va), col.in.str(vb), col.weights)
	}
	return compareValues(c.kind.name, col.in.str(va), col.in.str(vb))
}

// model is a trained linkage model over one table.
type model struct {
	comps []*comparison
	m, u  [][]float64 // [comparison][level]
	w     [][]float64 // log2(m/u)
	// uExact is each comparison's u of exact agreement, for TF.
	uExact []float64
	prior  float64 // log2 odds that two random records match
	// What training found, for the report.
	lambda       float64 // share of matches among the candidate pairs
	iterations   int
	converged    bool
	sampled      int
	needIdentity bool
	// of the last emSession
	lastIterations int
	lastConverged  bool
}

// pattern packs a pair's levels, four bits per comparison.
type pattern uint64

func (p pattern) level(c int) uint8 { return uint8(p >> (4 * c) & 15) }

func (t *table) pattern(comps []*comparison, i, j int) pattern {
	var p pattern
	for c, cmp := range comps {
		p |= pattern(t.level(cmp, i, j)) << (4 * c)
	}
	return p
}

// uSample is how many random pairs estimate u.
const uSample = 300_000

// trainSeed seeds the random pairs: fixed, so every run samples the same.
const trainSeed = 0x5eed_dede

// train estimates u from random pairs, then m and the prior by EM over
// the candidate pairs' patterns.
func train(t *table, comps []*comparison, sessions []session, patterns map[pattern]int, candidates int, needIdentity bool) *model {
	md := &model{comps: comps, needIdentity: needIdentity}
	n := t.len()
	md.u = make([][]float64, len(comps))
	md.m = make([][]float64, len(comps))
	md.uExact = make([]float64, len(comps))
	counts := make([][]float64, len(comps))
	for c, cmp := range comps {
		counts[c] = make([]float64, len(cmp.kind.levels))
	}
	total := float64(n) * float64(n-1) / 2
	count := func(i, j int) {
		for c, cmp := range comps {
			counts[c][t.level(cmp, i, j)]++
		}
	}
	if total <= uSample {
		for i := range n {
			for j := i + 1; j < n; j++ {
				count(i, j)
			}
		}
		md.sampled = int(total)
	} else {
		rng := rand.New(rand.NewPCG(trainSeed, uint64(n)))
		for range uSample {
			i, j := rng.IntN(n), rng.IntN(n-1)
			if j >= i {
				j++
			}
			count(i, j)
		}
		md.sampled = uSample
	}
	for c, cmp := range comps {
		levels := cmp.kind.levels
		seen := 0.0
		for l := 1; l < len(levels); l++ {
			seen += counts[c][l]
		}
		u := make([]float64, len(levels))
		for l := 1; l < len(levels); l++ {
			u[l] = (counts[c][l] + uPriorPairs*levels[l].u) / (seen + uPriorPairs)
		}
		// The exact level's u is known from the value counts, far better
		// than a sample sees it for rare values: the share of pairs of
		// records with a value that agree on it.
		if len(cmp.cols) == 1 && cmp.kind.name != kindEmail {
			col := t.cols[cmp.cols[0]]
			if col.n >= 2 {
				var agree float64
				for _, k := range col.count[1:] {
					agree += float64(k) * float64(k-1) / 2
				}
				pairs := float64(col.n) * float64(col.n-1) / 2
				exact := (agree + uPriorPairs*levels[1].u) / (pairs + uPriorPairs)
				rest := 1 - u[1]
				u[1] = exact
				for l := 2; l < len(levels); l++ {
					u[l] = math.Max(u[l]*(1-exact)/rest, 1e-9)
				}
			}
		}
		md.u[c] = u
		md.uExact[c] = u[1]
		m := make([]float64, len(levels))
		for l := 1; l < len(levels); l++ {
			m[l] = levels[l].m
		}
		md.m[c] = m
	}
	// m from one EM session per blocking rule, each blind to the fields its
	// rule blocked on (all of its pairs agree there by construction, so
	// those pairs say nothing about how often matches agree), averaged over
	// the sessions that saw each field: Splink's way.
	sum := make([][]float64, len(comps))
	seen := make([]int, len(comps))
	for c := range comps {
		sum[c] = make([]float64, len(md.m[c]))
	}
	md.converged = true
	for _, ss := range sessions {
		m := md.emSession(ss.patterns, ss.exclude, nil)
		for c := range comps {
			if ss.exclude[c] {
				continue
			}
			seen[c]++
			for l := range m[c] {
				sum[c][l] += m[c][l]
			}
		}
		md.iterations += md.lastIterations
		md.converged = md.converged && md.lastConverged
	}
	for c := range comps {
		if seen[c] > 0 {
			for l := 1; l < len(sum[c]); l++ {
				md.m[c][l] = sum[c][l] / float64(seen[c])
			}
		}
	}
	// Then the share of matches among all candidates, m and u fixed.
	fixed := make([]bool, len(comps))
	md.emSession(patterns, fixed, md.m)
	// Expected matches among the candidates, over all pairs: the prior.
	matches := md.lambda * float64(candidates)
	lambdaAll := math.Min(0.5, math.Max(matches, 1)/math.Max(total, 1))
	md.prior = math.Log2(lambdaAll / (1 - lambdaAll))
	md.weights()
	return md
}

func (md *model) weights() {
	md.w = make([][]float64, len(md.comps))
	for c := range md.comps {
		w := make([]float64, len(md.m[c]))
		levels := md.comps[c].kind.levels
		for l := 1; l < len(w); l++ {
			w[l] = math.Log2(md.m[c][l] / md.u[c][l])
			// Disagreement is never evidence for a match, however rare
			// it is among random pairs (every record in one country).
			if l == len(levels)-1 || levels[l].label == "other house number" {
				w[l] = math.Min(w[l], 0)
			}
		}
		md.w[c] = w
	}
}

// session is one EM training session: a sample of one blocking rule's
// candidate pairs, and the comparisons its rule blocked on.
type session struct {
	rule     string
	patterns map[pattern]int
	exclude  []bool
}

// emSession runs expectation-maximisation over patterns with u fixed: each
// round computes every pattern's probability of being a match and
// re-estimates m and the share of matches from them. Excluded comparisons
// are ignored. With fixedM the m are kept and only the share of matches is
// estimated (it is left in md.lambda); otherwise the m found are returned,
// starting from md.m.
func (md *model) emSession(patterns map[pattern]int, exclude []bool, fixedM [][]float64) [][]float64 {
	type pc struct {
		p pattern
		n float64
	}
	ps := make([]pc, 0, len(patterns))
	for p, n := range patterns {
		ps = append(ps, pc{p, float64(n)})
	}
	// Sorted, so that sums are added in one order and results repeat.
	slices.SortFunc(ps, func(a, b pc) int {
		switch {
		case a.p < b.p:
			return -1
		case a.p > b.p:
			return 1
		}
		return 0
	})
	m := fixedM
	if m == nil {
		m = make([][]float64, len(md.m))
		for c := range md.m {
			m[c] = slices.Clone(md.m[c])
		}
	}
	lambda := 0.1
	md.lastIterations, md.lastConverged = 0, false
	if len(ps) == 0 {
		md.lambda = 0
		return m
	}
	post := make([]float64, len(ps))
	vetoed := make([]bool, len(ps))
	for k, x := range ps {
		vetoed[k] = md.veto(x.p, md.needIdentity) != ""
	}
	for it := 1; it <= 200; it++ {
		md.lastIterations = it
		var matched, all float64
		for k, x := range ps {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for c := range md.comps {
				if l := x.p.level(c); l != 0 && !exclude[c] {
					lm += math.Log(m[c][l])
					lu += math.Log(md.u[c][l])
				}
			}
			post[k] = 1 / (1 + math.Exp(lu-lm))
			if vetoed[k] {
				post[k] = 0
			}
			matched += post[k] * x.n
			all += x.n
		}
		next := min(max((matched+0.5)/(all+1), 1e-9), 1-1e-9)
		change := math.Abs(next - lambda)
		lambda = next
		if fixedM == nil {
			for c, cmp := range md.comps {
				if exclude[c] {
					continue
				}
				levels := cmp.kind.levels
				sum := make([]float64, len(levels))
				var seen float64
				for k, x := range ps {
					if l := x.p.level(c); l != 0 {
						sum[l] += post[k] * x.n
						seen += post[k] * x.n
					}
				}
				for l := 1; l < len(levels); l++ {
					v := (sum[l] + mPriorMatches*levels[l].m) / (seen + mPriorMatches)
					change = math.Max(change, math.Abs(v-m[c][l]))
					m[c][l] = v
				}
			}
		}
		if change < 1e-6 {
			md.lastConverged = true
			break
		}
	}
	md.lambda = lambda
	return m
}

// score is the match weight of records i and j with the levels p.
func (md *model) score(t *table, p pattern, i, j int) float64 {
	w := md.prior
	for c, cmp := range md.comps {
		l := p.level(c)
		if l == 0 {
			continue
		}
		w += md.w[c][l]
		if l == 1 && cmp.kind.tf {
			w += md.tfAdjust(t, c, i, j)
		}
	}
	return w
}

// tfAdjust is the term-frequency adjustment of an exact agreement on
// comparison c: log2(u_exact / tf), tf being the share of records with the
// shared value, smoothed towards the kinds table's u_exact (see
// tfPriorRecords).
func (md *model) tfAdjust(t *table, c, i, j int) float64 {
	cmp := md.comps[c]
	for _, x := range cmp.cols {
		col := t.cols[x]
		v := col.val(i)
		if v == 0 || v != col.val(j) {
			continue
		}
		tf := (float64(col.count[v]) + tfPriorRecords*cmp.kind.levels[1].u) / (float64(col.n) + tfPriorRecords)
		return math.Log2(md.uExact[c] / tf)
	}
	return 0
}

// prob turns a match weight into the probability of one record.
func prob(w float64) float64 { return 1 / (1 + math.Exp2(-w)) }

// explain writes the waterfall of a pair in words: every compared field
// with its level and weight, then the total, e.g. "email exact (+9.1),
// lastname typo (+5.2), firstname missing (0), zip different (-3.0), prior
// -14.2: match weight 11.3".
func (md *model) explain(t *table, p pattern, i, j int) string {
	var parts []string
	for c, cmp := range md.comps {
		l := p.level(c)
		if l == 0 {
			if t.hasValue(cmp, i) || t.hasValue(cmp, j) {
				parts = append(parts, cmp.name+" missing (0)")
			}
			continue
		}
		w := md.w[c][l]
		if l == 1 && cmp.kind.tf {
			w += md.tfAdjust(t, c, i, j)
		}
		parts = append(parts, fmt.Sprintf("%s %s (%+.1f)", cmp.name, cmp.kind.levels[l].label, w))
	}
	return fmt.Sprintf("%s, prior %.1f: match weight %.1f", strings.Join(parts, ", "), md.prior, md.score(t, p, i, j))
}

func (t *table) hasValue(c *comparison, i int) bool {
	for _, x := range c.cols {
		if t.cols[x].val(i) != 0 {
			return true
		}
	}
	return false
}

// veto reports why records with levels p must not be merged whatever
// their weight, or "" (the four rules and why are in the package doc): two
// different given names, or a company's other house number, unless an
// identifier agrees exactly; different last names unless an identifier or
// the email agrees; for contacts, nothing that identifies the person
// agreeing. It reads levels only, so training uses it too: a vetoed pair
// is never counted as a match.
func (md *model) veto(p pattern, needIdentity bool) string {
	identity, idAgrees, emailAgrees := false, false, false
	contradiction, lastDiffers := "", ""
	for c, cmp := range md.comps {
		l := p.level(c)
		if l == 0 {
			continue
		}
		levels := cmp.kind.levels
		if cmp.ident && l == 1 {
			idAgrees = true
		}
		if cmp.kind.name == kindEmail && l < emailDifferent {
			emailAgrees = true
		}
		switch {
		case cmp.kind.name == kindName && !cmp.first:
			if l == nameDifferent {
				lastDiffers = cmp.name + " different"
			}
		case levels[l].contradicts || cmp.site && l == addrOtherNumber:
			if contradiction == "" {
				contradiction = cmp.name + " " + levels[l].label
			}
		}
		// An agreement: any level but the last (different) and the
		// contradicting ones.
		if cmp.identity && int(l) < len(levels)-1 && !levels[l].contradicts {
			identity = true
		}
	}
	switch {
	case contradiction != "" && !idAgrees:
		return contradiction
	case lastDiffers != "" && !idAgrees && !emailAgrees:
		return lastDiffers
	case needIdentity && !identity:
		return "nothing that identifies the person agrees"
	}
	return ""
}
