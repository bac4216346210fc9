// Package dedupe finds duplicate contacts and companies and proposes merging
// each group of duplicates into one survivor.
//
// It reads the CRM through crm.Connector only: one List pass per object with
// just the fields it needs, then Get for the losers' snapshots. So it works
// on the embedded CRM and on HubSpot alike, and it never compares every
// record with every other:
//
//  1. Blocking. Every record gets a few block keys, 64-bit hashes of
//     normalized values. Contacts: the email (trimmed, lower case, Gmail
//     without dots and +tags); the phone (national number, last ten digits)
//     with the last name; the last name with the first name's formal form
//     (Bob -> robert) and the company. Companies: the domain (no scheme,
//     www. or path; free-mail domains excluded) and the name (no case,
//     punctuation or legal suffix). Only records sharing a key are compared.
//     A block larger than MaxBlock is a common value (a switchboard number,
//     a shared mailbox): it is split by name, and what is still too large is
//     skipped and reported in Result.Skipped.
//  2. Scoring. Each candidate pair gets a confidence from explicit evidence
//     (email equal, phone equal, names equal / nickname / one typo /
//     different by Jaro-Winkler, same company or domain, country), see
//     contactTable.score and companyTable.score. Pairs below
//     min_confidence are dropped. A role address (info@, sales@, ...) is never evidence on its
//     own: it needs agreeing names.
//  3. Grouping. Accepted pairs are joined transitively (union-find). Each
//     group gets one survivor: the record with the most non-empty fields,
//     then the oldest created, then the lowest id. A member is merged into
//     the survivor only when it matches the survivor itself with confidence
//     >= min_confidence (the change's confidence is that score), or matches
//     such a direct match with confidence >= min_confidence and its names do
//     not contradict the survivor's (the change's confidence is the weaker
//     of the two links, the reason says "via"). In both cases it must be
//     able to be the same as every member merged before it (stronger links
//     first): its name parts may differ from one only where both are at
//     most a typo from the survivor's, so a "Chris" never absorbs both a
//     Christopher and a Christina.
//     Members left over are grouped again among themselves, so a weak link
//     never chains two different people into one merge.
//
// Each loser becomes one change: kind dedupe, op merge, record = survivor,
// merge_from = loser, the loser's non-empty fields as snapshot, trigger
// rule, and a reason that lists the evidence.
package dedupe

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
)

// Name is the detector's name in crmops.yaml and in batch files.
const Name = "dedupe"

// MaxBlock is the largest block whose records are all compared pairwise.
const MaxBlock = 50

// maxGroup is the largest group of linked records resolved into merges; a
// larger one is a data problem (one value shared by very many records) that
// needs a person.
const maxGroup = 200

// Settings are the detector's keys under detectors.dedupe in crmops.yaml.
// All are optional.
type Settings struct {
	// Objects to deduplicate: contacts and/or companies (default both).
	Objects []string `yaml:"objects"`
	// MinConfidence drops pairs scored below it (default 0.8).
	MinConfidence *float64 `yaml:"min_confidence"`
	// Source is written into every change (default "dedupe").
	Source string `yaml:"source"`
}

// Detector finds duplicate records.
type Detector struct {
	objects []string
	min     float64
	source  string
}

var _ detect.Detector = (*Detector)(nil)

// New builds the detector from its settings in file (crmops.yaml); nil
// settings mean the defaults.
func New(file string, settings *yaml.Node) (detect.Detector, error) {
	var s Settings
	if settings != nil && settings.Kind != 0 && !(settings.Kind == yaml.ScalarNode && settings.Tag == "!!null") {
		if err := detect.DecodeSettings(file, Name, settings, &s); err != nil {
			return nil, err
		}
	}
	d := &Detector{objects: []string{"contacts", "companies"}, min: 0.8, source: Name}
	if s.Objects != nil {
		if len(s.Objects) == 0 {
			return nil, fmt.Errorf("%s: detectors.%s.objects: empty list; name contacts and/or companies, or leave the key out", file, Name)
		}
		seen := map[string]bool{}
		for _, o := range s.Objects {
			if o != "contacts" && o != "companies" {
				return nil, fmt.Errorf("%s: detectors.%s.objects: %q is not supported (contacts, companies)", file, Name, o)
			}
			if seen[o] {
				return nil, fmt.Errorf("%s: detectors.%s.objects: %q is listed twice", file, Name, o)
			}
			seen[o] = true
		}
		d.objects = s.Objects
	}
	if s.MinConfidence != nil {
		if m := *s.MinConfidence; m <= 0 || m > 1 || m != m {
			return nil, fmt.Errorf("%s: detectors.%s.min_confidence: %v is outside (0, 1]", file, Name, m)
		}
		d.min = *s.MinConfidence
	}
	if s.Source != "" {
		d.source = s.Source
	}
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Detect implements detect.Detector.
func (d *Detector) Detect(ctx context.Context, env detect.Env) (*detect.Result, error) {
	if env.Progress == nil {
		env.Progress = detect.NoProgress{}
	}
	res := &detect.Result{}
	for _, obj := range d.objects {
		var t table
		if obj == "companies" {
			t = newCompanyTable()
		} else {
			t = newContactTable()
		}
		if err := d.dedupe(ctx, env, t, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// table holds one object's records compactly, in List order, and knows how
// to block and score them.
type table interface {
	object() string
	// fields are the fields List reads.
	fields() []string
	add(rec crm.Record)
	len() int
	id(i int) string
	// filled is the number of non-empty fields read.
	filled(i int) int
	created(i int) string
	// keys calls emit with each block key of record i.
	keys(i int, emit func(kind uint8, h uint64))
	// subKey splits an oversized block of kind: only records with equal
	// non-zero sub-keys are compared.
	subKey(i int, kind uint8) uint64
	// describe names the value record i shares in a block of kind.
	describe(i int, kind uint8) string
	// score is the confidence that i and j are one record, and with why,
	// the evidence.
	score(i, j int, why bool) (float64, string)
	// namesAgree reports whether the names of i and j do not contradict.
	namesAgree(i, j int) bool
	// compatible reports whether i and j, both merged into s, can be one
	// record.
	compatible(s, i, j int) bool
}

func (d *Detector) dedupe(ctx context.Context, env detect.Env, t table, res *detect.Result) error {
	obj := t.object()
	stage := "dedupe: reading " + obj
	err := env.CRM.List(ctx, obj, t.fields(), func(r crm.Record) error {
		t.add(r)
		if n := t.len(); n%50000 == 0 {
			env.Progress.Step(stage, n, 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dedupe: read %s: %w", obj, err)
	}
	env.Progress.Step(stage, t.len(), t.len())
	if err := ctx.Err(); err != nil {
		return err
	}
	edges := d.candidates(t, res)
	env.Progress.Step("dedupe: grouping "+obj, 0, 0)
	merges := d.group(t, edges, res)
	changes, err := d.changes(ctx, env, t, merges, res)
	if err != nil {
		return err
	}
	res.Changes = append(res.Changes, changes...)
	return nil
}

// edge is an accepted pair, a < b.
type edge struct {
	a, b int32
	conf float64
}

// candidates blocks the records and returns every compared pair scored at
// least min, sorted and without repeats.
func (d *Detector) candidates(t table, res *detect.Result) []edge {
	n := t.len()
	if n < 2 {
		return nil
	}
	// A key is the block hash in the high bits and the record index in the
	// low ones: sorting plain integers puts each block's records together,
	// in index order.
	idxBits := bits.Len(uint(n))
	mask := uint64(1)<<idxBits - 1
	keys := make([]uint64, 0, 3*n)
	for i := range n {
		t.keys(i, func(kind uint8, h uint64) {
			keys = append(keys, mix(h^uint64(kind))<<idxBits|uint64(i))
		})
	}
	slices.Sort(keys)

	var edges []edge
	compare := func(members []int32) {
		for x := 0; x < len(members); x++ {
			for y := x + 1; y < len(members); y++ {
				a, b := members[x], members[y]
				if a == b {
					continue // one record with two keys in one block
				}
				if conf, _ := t.score(int(a), int(b), false); conf >= d.min {
					edges = append(edges, edge{a, b, conf})
				}
			}
		}
	}
	var members []int32
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi]>>idxBits == keys[lo]>>idxBits {
			hi++
		}
		if hi-lo >= 2 {
			members = members[:0]
			for _, k := range keys[lo:hi] {
				members = append(members, int32(k&mask))
			}
			if len(members) <= MaxBlock {
				compare(members)
			} else {
				d.splitBlock(t, members, compare, res)
			}
		}
		lo = hi
	}
	slices.SortFunc(edges, func(x, y edge) int {
		if x.a != y.a {
			return int(x.a - y.a)
		}
		return int(x.b - y.b)
	})
	return slices.CompactFunc(edges, func(x, y edge) bool { return x.a == y.a && x.b == y.b })
}

// splitBlock compares an oversized block's records only within equal
// sub-keys, and reports what it had to leave out.
func (d *Detector) splitBlock(t table, members []int32, compare func([]int32), res *detect.Result) {
	kind := blockKind(t, members)
	what := t.describe(int(members[0]), kind)
	type sub struct {
		key uint64
		i   int32
	}
	subs := make([]sub, 0, len(members))
	for _, m := range members {
		if k := t.subKey(int(m), kind); k != 0 {
			subs = append(subs, sub{k, m})
		}
	}
	slices.SortFunc(subs, func(x, y sub) int {
		if x.key != y.key {
			if x.key < y.key {
				return -1
			}
			return 1
		}
		return int(x.i - y.i)
	})
	skipped := len(members) - len(subs)
	var group []int32
	for lo := 0; lo < len(subs); {
		hi := lo + 1
		for hi < len(subs) && subs[hi].key == subs[lo].key {
			hi++
		}
		if hi-lo > MaxBlock {
			skipped += hi - lo
		} else if hi-lo >= 2 {
			group = group[:0]
			for _, s := range subs[lo:hi] {
				group = append(group, s.i)
			}
			compare(group)
		}
		lo = hi
	}
	reason := fmt.Sprintf("shared by more than %d records: compared only within equal names", MaxBlock)
	if skipped > 0 {
		reason += "; some records left uncompared"
	}
	res.Skipped = append(res.Skipped, detect.Problem{
		File:   fmt.Sprintf("%s %s (%d records, %d not compared)", t.object(), what, len(members), skipped),
		Reason: reason,
	})
}

// blockKind finds which of its keys put the records of a block together.
func blockKind(t table, members []int32) uint8 {
	// The first kind under which the first two members share a key.
	var a, b []uint64
	var kinds []uint8
	t.keys(int(members[0]), func(kind uint8, h uint64) { a = append(a, h); kinds = append(kinds, kind) })
	t.keys(int(members[1]), func(kind uint8, h uint64) { b = append(b, h) })
	for x, h := range a {
		if slices.Contains(b, h) {
			return kinds[x]
		}
	}
	return kinds[0]
}

// merge is one proposed merge: loser into survivor.
type merge struct {
	survivor, loser int32
	conf            float64
	reason          string
}

// group joins accepted pairs into groups and resolves each into merges by
// the rule in the package comment. Merges are ordered by survivor, then
// loser, in List order.
func (d *Detector) group(t table, edges []edge, res *detect.Result) []merge {
	if len(edges) == 0 {
		return nil
	}
	uf := newUnionFind(t.len())
	for _, e := range edges {
		uf.union(e.a, e.b)
	}
	// Gather each group's members and edges by root.
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
	var out []merge
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
				File:   fmt.Sprintf("%s %s and %d others", t.object(), t.id(int(c.members[0])), len(c.members)-1),
				Reason: fmt.Sprintf("more than %d records linked into one group: not merged, review by hand", maxGroup),
			})
			continue
		}
		out = append(out, d.resolve(t, c)...)
	}
	slices.SortFunc(out, func(x, y merge) int {
		if x.survivor != y.survivor {
			return int(x.survivor - y.survivor)
		}
		return int(x.loser - y.loser)
	})
	return out
}

type component struct {
	members []int32
	edges   []edge
}

// resolve turns one linked group into merges.
func (d *Detector) resolve(t table, c *component) []merge {
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
			// The connected part of the remaining members around start.
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
			merged, left := d.mergePart(t, part)
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

// mergePart picks the survivor of one connected part and merges into it
// every member that matches it directly, then every member that matches a
// merged one without contradicting the survivor's names. A member that
// cannot be the same as an already merged member is not merged either (so
// a "Chris" survivor never absorbs both a Christopher and a Christina);
// stronger links are taken first. It returns the members it could not merge.
func (d *Detector) mergePart(t table, part []int32) (merged []merge, left []int32) {
	s := part[0]
	for _, m := range part[1:] {
		if better(t, int(m), int(s)) {
			s = m
		}
	}
	accepted := []int32{s}
	fits := func(m int32) bool {
		for _, a := range accepted[1:] {
			if !t.compatible(int(s), int(a), int(m)) {
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
		if conf, why := t.score(int(s), int(m), true); conf >= d.min {
			direct = append(direct, merge{s, m, conf, why})
		} else {
			rest = append(rest, m)
		}
	}
	strongestFirst(direct)
	directConf := map[int32]float64{}
	for _, m := range direct {
		if fits(m.loser) {
			accepted = append(accepted, m.loser)
			directConf[m.loser] = m.conf
			merged = append(merged, m)
		} else {
			left = append(left, m.loser)
		}
	}

	var via []merge
	for _, m := range rest {
		if !t.namesAgree(int(s), int(m)) {
			left = append(left, m)
			continue
		}
		best, bestConf, bestWhy := int32(-1), 0.0, ""
		for _, a := range accepted[1:] {
			conf, why := t.score(int(a), int(m), true)
			if conf < d.min {
				continue
			}
			if c := math.Min(conf, directConf[a]); c > bestConf {
				best, bestConf, bestWhy = a, c, why
			}
		}
		if best < 0 {
			left = append(left, m)
			continue
		}
		why := fmt.Sprintf("%s; via %s, which matches the survivor (%.2f)", bestWhy, t.id(int(best)), directConf[best])
		via = append(via, merge{s, m, bestConf, why})
	}
	strongestFirst(via)
	for _, m := range via {
		if fits(m.loser) {
			accepted = append(accepted, m.loser)
			merged = append(merged, m)
		} else {
			left = append(left, m.loser)
		}
	}
	slices.Sort(left)
	return merged, left
}

// better reports whether record i makes a better survivor than j: more
// non-empty fields, then created earlier (a record without a created time
// counts as newest), then the lower id.
func better(t table, i, j int) bool {
	if fi, fj := t.filled(i), t.filled(j); fi != fj {
		return fi > fj
	}
	if c := compareCreated(t.created(i), t.created(j)); c != 0 {
		return c < 0
	}
	return compareIDs(t.id(i), t.id(j)) < 0
}

func compareCreated(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA == nil && errB == nil {
		return ta.Compare(tb)
	}
	return strings.Compare(a, b)
}

// compareIDs orders ids numerically when both are numbers.
func compareIDs(a, b string) int {
	na, errA := strconv.ParseUint(a, 10, 64)
	nb, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// snapshotBatch is how many losers are read per Get for their snapshots.
const snapshotBatch = 500

// changes turns merges into changes, with each loser's fields read at
// detection time as its snapshot.
func (d *Detector) changes(ctx context.Context, env detect.Env, t table, merges []merge, res *detect.Result) ([]batch.Change, error) {
	obj := t.object()
	snap := make(map[string]map[string]string, len(merges))
	for lo := 0; lo < len(merges); lo += snapshotBatch {
		ids := make([]string, 0, snapshotBatch)
		for _, m := range merges[lo:min(lo+snapshotBatch, len(merges))] {
			ids = append(ids, t.id(int(m.loser)))
		}
		recs, err := env.CRM.Get(ctx, obj, ids, nil)
		if err != nil {
			return nil, fmt.Errorf("dedupe: read %s to merge: %w", obj, err)
		}
		for id, r := range recs {
			if r.MergedInto != "" {
				continue
			}
			fields := make(map[string]string, len(r.Fields))
			for k, v := range r.Fields {
				if v != "" {
					fields[k] = v
				}
			}
			snap[id] = fields
		}
		env.Progress.Step("dedupe: snapshots of "+obj, min(lo+snapshotBatch, len(merges)), len(merges))
	}
	out := make([]batch.Change, 0, len(merges))
	for _, m := range merges {
		loser := t.id(int(m.loser))
		fields, ok := snap[loser]
		if !ok {
			res.Skipped = append(res.Skipped, detect.Problem{
				File:   obj + " " + loser,
				Reason: "gone or merged while dedupe ran: not proposed",
			})
			continue
		}
		out = append(out, batch.Change{
			Kind:       "dedupe",
			Object:     obj,
			Record:     t.id(int(m.survivor)),
			Op:         batch.OpMerge,
			MergeFrom:  loser,
			Source:     d.source,
			Confidence: roundConf(m.conf),
			Trigger:    "rule",
			Reason:     m.reason,
			Snapshot:   fields,
		})
	}
	return out, nil
}

// roundConf keeps two decimals, the precision people read.
func roundConf(c float64) float64 {
	return math.Max(0, math.Min(1, math.Round(c*100)/100))
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

// interner stores each distinct string once and names it by number; 0 is
// the empty string.
type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() *interner { return &interner{ids: map[string]uint32{"": 0}, strs: []string{""}} }

func (in *interner) id(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := uint32(len(in.strs))
	in.ids[s] = id
	in.strs = append(in.strs, s)
	return id
}

func (in *interner) str(id uint32) string { return in.strs[id] }

// hashing: FNV-1a over the parts, each followed by a separator, so that
// ("ab", "c") and ("a", "bc") differ.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashStrings(parts ...string) uint64 {
	h := uint64(fnvOffset)
	for _, s := range parts {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= fnvPrime
		}
		h ^= 0xff
		h *= fnvPrime
	}
	return h
}

// mix spreads a hash's entropy over all its bits (SplitMix64's finaliser),
// so that the top bits kept in a block key are as good as the rest.
func mix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
