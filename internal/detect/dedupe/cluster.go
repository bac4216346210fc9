package dedupe

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/crmops/crmops/internal/detect"
)

// linker scores pairs with a trained model and decides which may merge.
type linker struct {
	t            *table
	md           *model
	min          float64
	needIdentity bool
}

// edge is an accepted pair, a < b.
type edge struct {
	a, b int32
	conf float64
}

// judge is the confidence that i and j are one record, 0 when they must not
// be merged (see model.veto), with the pair's levels and match weight.
func (l *linker) judge(i, j int) (conf float64, p pattern, w float64) {
	p = l.t.pattern(l.md.comps, i, j)
	w = l.md.score(l.t, p, i, j)
	if l.md.veto(p, l.needIdentity) != "" {
		return 0, p, w
	}
	return prob(w), p, w
}

// agree reports whether i and j could be one record: nothing contradicts
// and the evidence, without the prior, is for it (a Bayes factor above 1).
// Every two members of a group must agree, so a chain of likely pairs never
// joins two records that disagree.
func (l *linker) agree(i, j int) bool {
	p := l.t.pattern(l.md.comps, i, j)
	if l.md.veto(p, l.needIdentity) != "" {
		return false
	}
	return !l.needIdentity || l.md.score(l.t, p, i, j) > l.md.prior
}

func (l *linker) explain(i, j int) string {
	p := l.t.pattern(l.md.comps, i, j)
	s := l.md.explain(l.t, p, i, j)
	if v := l.md.veto(p, l.needIdentity); v != "" {
		s += " (not merged: " + v + ")"
	}
	return s
}

// edges scores the candidate pairs and keeps those at min_confidence or
// above that nothing vetoes.
func (l *linker) edges(pairs []uint64, patterns []pattern) []edge {
	workers := max(1, runtime.GOMAXPROCS(0))
	chunk := (len(pairs) + workers - 1) / workers
	parts := make([][]edge, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min(len(pairs), (w+1)*chunk)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out []edge
			for k := lo; k < hi; k++ {
				i, j := int(pairs[k]>>32), int(uint32(pairs[k]))
				p := patterns[k]
				if conf := prob(l.md.score(l.t, p, i, j)); conf >= l.min && l.md.veto(p, l.needIdentity) == "" {
					out = append(out, edge{int32(i), int32(j), conf})
				}
			}
			parts[w] = out
		}()
	}
	wg.Wait()
	var out []edge
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// component is one group of linked records.
type component struct {
	members []int32
	edges   []edge
}

// groupingEvery is how many joined pairs pass between progress reports.
const groupingEvery = 50_000

// components joins the accepted pairs transitively (union-find), in List
// order of their first member; groups larger than maxGroup are reported
// instead. step reports how many pairs are joined so far.
func (l *linker) components(edges []edge, res *detect.Result, step func(done, total int)) []*component {
	step(0, len(edges))
	if len(edges) == 0 {
		return nil
	}
	uf := newUnionFind(l.t.len())
	for i, e := range edges {
		uf.union(e.a, e.b)
		if (i+1)%groupingEvery == 0 {
			step(i+1, len(edges))
		}
	}
	step(len(edges), len(edges))
	byRoot := map[int32]*component{}
	var roots []int32
	for _, e := range edges {
		r := uf.find(e.a)
		c := byRoot[r]
		if c == nil {
			c = &component{}
			byRoot[r] = c
			roots = append(roots, r)
		}
		c.edges = append(c.edges, e)
	}
	slices.Sort(roots)
	var out []*component
	for _, r := range roots {
		c := byRoot[r]
		seen := map[int32]bool{}
		for _, e := range c.edges {
			for _, m := range []int32{e.a, e.b} {
				if !seen[m] {
					seen[m] = true
					c.members = append(c.members, m)
				}
			}
		}
		slices.Sort(c.members)
		if len(c.members) > maxGroup {
			res.Skipped = append(res.Skipped, detect.Problem{
				File:   fmt.Sprintf("%s %s and %d others", l.t.object, l.t.id(c.members[0]), len(c.members)-1),
				Reason: fmt.Sprintf("more than %d records linked into one group: not merged, review by hand", maxGroup),
			})
			continue
		}
		out = append(out, c)
	}
	return out
}

// grouped is a linker over the records of comps only (see table.subset),
// and comps in its indexes.
func (l *linker) grouped(comps []*component) (*linker, []*component) {
	var keep []int32
	for _, c := range comps {
		keep = append(keep, c.members...)
	}
	slices.Sort(keep)
	keep = slices.Compact(keep)
	at := func(i int32) int32 {
		k, _ := slices.BinarySearch(keep, i)
		return int32(k)
	}
	out := make([]*component, len(comps))
	for ci, c := range comps {
		nc := &component{members: make([]int32, len(c.members)), edges: make([]edge, len(c.edges))}
		for k, m := range c.members {
			nc.members[k] = at(m)
		}
		for k, e := range c.edges {
			nc.edges[k] = edge{at(e.a), at(e.b), e.conf}
		}
		out[ci] = nc
	}
	g := *l
	g.t = l.t.subset(keep)
	return &g, out
}

// merge is one proposed merge: loser into survivor.
type merge struct {
	survivor, loser int32
	conf            float64
	reason          string
}

// resolve turns one linked group into merges: each connected part gets a
// survivor (pick), and members left over are grouped again among
// themselves, so a weak link never chains two different people into one
// merge.
func (l *linker) resolve(c *component, pick func(part []int32) int32) []merge {
	adj := map[int32][]int32{}
	for _, e := range c.edges {
		adj[e.a] = append(adj[e.a], e.b)
		adj[e.b] = append(adj[e.b], e.a)
	}
	var out []merge
	remaining := c.members
	for len(remaining) >= 2 {
		in := map[int32]bool{}
		for _, m := range remaining {
			in[m] = true
		}
		var next []int32
		done := map[int32]bool{}
		for _, start := range remaining {
			if done[start] {
				continue
			}
			part := []int32{start}
			done[start] = true
			for q := 0; q < len(part); q++ {
				for _, nb := range adj[part[q]] {
					if in[nb] && !done[nb] {
						done[nb] = true
						part = append(part, nb)
					}
				}
			}
			if len(part) < 2 {
				continue
			}
			slices.Sort(part)
			merged, left := l.mergePart(part, pick(part))
			out = append(out, merged...)
			next = append(next, left...)
		}
		if len(next) == len(remaining) {
			break
		}
		slices.Sort(next)
		remaining = next
	}
	return out
}

// mergePart merges into survivor s every member of part that matches it
// directly, then every member that matches a merged one, strongest links
// first; a member that does not agree with the survivor and every member
// merged before it is not merged (so a "Chris" survivor never absorbs both
// a Christopher and a Christina). It returns the members it could not
// merge.
func (l *linker) mergePart(part []int32, s int32) (merged []merge, left []int32) {
	accepted := []int32{s}
	fits := func(m int32) bool {
		for _, a := range accepted[1:] {
			if !l.agree(int(a), int(m)) {
				return false
			}
		}
		return true
	}
	strongestFirst := func(ms []merge) {
		slices.SortStableFunc(ms, func(x, y merge) int {
			if x.conf != y.conf {
				if x.conf > y.conf {
					return -1
				}
				return 1
			}
			return int(x.loser - y.loser)
		})
	}
	var direct []merge
	var rest []int32
	for _, m := range part {
		if m == s {
			continue
		}
		if conf, _, _ := l.judge(int(s), int(m)); conf >= l.min {
			direct = append(direct, merge{s, m, conf, ""})
		} else {
			rest = append(rest, m)
		}
	}
	strongestFirst(direct)
	directConf := map[int32]float64{}
	for _, m := range direct {
		if fits(m.loser) {
			m.reason = l.explain(int(s), int(m.loser))
			accepted = append(accepted, m.loser)
			directConf[m.loser] = m.conf
			merged = append(merged, m)
		} else {
			left = append(left, m.loser)
		}
	}
	// Through a merged member: never when the survivor itself disagrees.
	for len(rest) > 0 {
		var via []merge
		var still []int32
		for _, m := range rest {
			if !l.agree(int(s), int(m)) {
				left = append(left, m)
				continue
			}
			best, bestConf := int32(-1), 0.0
			for _, a := range accepted[1:] {
				conf, _, _ := l.judge(int(a), int(m))
				if conf < l.min {
					continue
				}
				if c := math.Min(conf, directConf[a]); c > bestConf {
					best, bestConf = a, c
				}
			}
			if best < 0 {
				still = append(still, m)
				continue
			}
			why := fmt.Sprintf("%s; via %s, which matches the survivor (%.2f)", l.explain(int(best), int(m)), l.t.id(best), directConf[best])
			via = append(via, merge{s, m, bestConf, why})
		}
		if len(via) == 0 {
			left = append(left, still...)
			break
		}
		strongestFirst(via)
		for _, m := range via {
			if fits(m.loser) {
				accepted = append(accepted, m.loser)
				directConf[m.loser] = m.conf
				merged = append(merged, m)
			} else {
				left = append(left, m.loser)
			}
		}
		rest = still
	}
	slices.Sort(left)
	return merged, left
}

// unionFind joins records into groups.
type unionFind struct{ parent []int32 }

func newUnionFind(n int) *unionFind {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	return &unionFind{p}
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if ra < rb {
		u.parent[rb] = ra
	} else {
		u.parent[ra] = rb
	}
}
