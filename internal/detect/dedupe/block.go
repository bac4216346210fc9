package dedupe

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// A blocking rule gives each record a few keys; records sharing a key are
// compared. The rules are OR-ed, each cheap and each aimed at a kind of
// duplicate the others miss: a typo in the email is found by the name, a
// typo in the last name by the first name and the date of birth, a wholly
// different spelling by the phone. A block larger than MaxBlock (a common
// value: a switchboard, a shared mailbox, a frequent surname) is split by
// the rule's split fields; what is still too large is left uncompared and
// reported. No rule ever compares all pairs of a large CRM.
type blockRule struct {
	name string
	// keys calls emit with each key of record i (none when it lacks the
	// fields).
	keys func(i int, emit func(uint64))
	// split are the standard fields an oversized block is split by:
	// records are compared only with those sharing the first of them they
	// have.
	split []string
	// uses are the fields the keys are made of, by their names in the CRM:
	// every pair of the rule agrees on them, so its training session
	// ignores them.
	uses []string
	// max is the rule's largest block compared whole (MaxBlock when 0).
	// Keys that namesakes share (a name, a local part made of a name) get
	// a smaller one: past it their blocks are split by where people work
	// or live, so a million contacts do not give tens of millions of pairs.
	max int
}

// namesakeBlock is the largest block of a key namesakes share.
const namesakeBlock = 12

// RuleReport is what one blocking rule did in a run.
type RuleReport struct {
	Object string
	Rule   string
	// Pairs is the number of candidate pairs the rule produced (a pair
	// several rules produce counts for each).
	Pairs int
	// Oversized is the number of blocks larger than MaxBlock, which were
	// split; Uncompared the records of those blocks still left uncompared.
	Oversized, Uncompared int
	// Example names the largest oversized block.
	Example string
	// Split names the fields oversized blocks were split by.
	Split []string
}

func (r RuleReport) splitBy() string {
	if len(r.Split) == 0 {
		return "values (not split)"
	}
	return strings.Join(r.Split, " or ")
}

func (r RuleReport) String() string {
	s := fmt.Sprintf("%s: blocking by %s: %d candidate pairs", r.Object, r.Rule, r.Pairs)
	if r.Oversized > 0 {
		s += fmt.Sprintf("; %d blocks of more than %d records split (largest: %s), %d records left uncompared", r.Oversized, MaxBlock, r.Example, r.Uncompared)
	}
	return s
}

func hashString(s string) uint64 { return hashStrings(s) }

// rules builds the blocking rules that fit the table's fields. Rules name
// standard fields (lastname, zip); the table finds them under the object's
// names. idents are field names in the CRM.
func (t *table) rules(idents []string) []blockRule {
	filled := func(c *column) *column {
		if c != nil && c.n > 0 {
			return c
		}
		return nil
	}
	has := func(std string) *column { return filled(t.col(std)) }
	var out []blockRule
	add := func(name string, split []string, keys func(i int, emit func(uint64)), uses ...string) {
		out = append(out, blockRule{name: name, keys: keys, split: split, uses: uses})
	}
	one := func(name string, col *column, split []string) {
		if col == nil {
			return
		}
		add(name, split, func(i int, emit func(uint64)) {
			if v := col.val(i); v != 0 {
				emit(uint64(v))
			}
		}, col.field)
	}
	two := func(name string, a, b *column, fa, fb func(string) string, split []string) {
		if a == nil || b == nil {
			return
		}
		add(name, split, func(i int, emit func(uint64)) {
			x, y := a.val(i), b.val(i)
			if x == 0 || y == 0 {
				return
			}
			xs, ys := a.in.str(x), b.in.str(y)
			if fa != nil {
				xs = fa(xs)
			}
			if fb != nil {
				ys = fb(ys)
			}
			if xs != "" && ys != "" {
				emit(hashStrings(xs, ys))
			}
		}, a.field, b.field)
	}
	phones := func(split []string) {
		var cols []*column
		for _, c := range t.cols {
			if c.kind == kindPhone && c.n > 0 {
				cols = append(cols, c)
			}
		}
		if len(cols) == 0 {
			return
		}
		add("phone", split, func(i int, emit func(uint64)) {
			for _, c := range cols {
				if v := c.val(i); v != 0 {
					emit(hashString(phoneNational(c.in.str(v))))
				}
			}
		}, t.name("phone"), t.name("mobilephone"))
	}
	for _, id := range idents {
		one(id, filled(t.field(id)), nil)
	}
	if t.role == roleCompanies {
		name := has("name")
		one("domain", has("domain"), []string{"name"})
		one("name", name, []string{"country", "zip", "city"})
		phones([]string{"name"})
		if name != nil {
			// The first two words of the name: "Salvation Army - Temple"
			// and "Salvation Army Temple".
			add("name words", []string{"zip", "address", "phone"}, func(i int, emit func(uint64)) {
				if v := name.val(i); v != 0 {
					w := strings.Fields(name.in.str(v))
					if len(w) >= 2 {
						emit(hashStrings(w[0], w[1]))
					}
				}
			}, "name")
		}
		t.addressRule(has("address"), []string{"name", "zip"}, add)
		return out
	}
	email, first, last := has("email"), has("firstname"), has("lastname")
	dob, zip, city := has("date_of_birth"), has("zip"), has("city")
	one("email", email, []string{"lastname", "firstname"})
	if email != nil {
		add("email local part", []string{"company", "zip", "city"}, func(i int, emit func(uint64)) {
			if v := email.val(i); v != 0 {
				e := email.in.str(v)
				if local, _, _ := strings.Cut(e, "@"); len(local) >= 4 && !isRole(e) {
					emit(hashString(local))
				}
			}
			// Local parts are mostly made of names: the session ignores
			// those too, or namesakes at other companies would look like
			// one person.
		}, t.name("email"), t.name("firstname"), t.name("lastname"))
	}
	phones([]string{"lastname", "firstname"})
	if first != nil && last != nil {
		// First and last name in either order, the first name in its
		// formal form (Bob -> robert): swapped names and nicknames meet.
		add("name", []string{"company", "zip", "city", "date_of_birth"}, func(i int, emit func(uint64)) {
			f, l := first.str(i), last.str(i)
			if f == "" || l == "" {
				return
			}
			forms := formalNames(f)
			if forms == nil {
				forms = []string{f}
			}
			for _, x := range forms {
				a, b := x, l
				if a > b {
					a, b = b, a
				}
				emit(hashStrings(a, b))
			}
		}, t.name("firstname"), t.name("lastname"))
	}
	two("last name + date of birth", last, dob, nil, nil, nil)
	two("first name + date of birth", first, dob, nil, nil, nil)
	two("last name sound + zip", last, zip, soundex, nil, []string{"firstname"})
	two("last name sound + city", last, city, soundex, nil, []string{"firstname"})
	two("date of birth + zip", dob, zip, nil, nil, nil)
	t.addressRule(has("address"), []string{"lastname", "zip"}, add)
	for i := range out {
		if out[i].name == "name" || out[i].name == "email local part" {
			out[i].max = namesakeBlock
		}
	}
	return out
}

// addressRule blocks on the house number and the street's first word.
func (t *table) addressRule(col *column, split []string, add func(string, []string, func(int, func(uint64)), ...string)) {
	if col == nil {
		return
	}
	add("address", split, func(i int, emit func(uint64)) {
		v := col.val(i)
		if v == 0 {
			return
		}
		a := parseAddress(col.in.str(v))
		if a.number == "" || len(a.street) == 0 {
			return
		}
		// The number and the street's first word: "221 e 51st st" blocks
		// on 221 51st.
		emit(hashStrings(a.number, a.street[0]))
	}, col.field)
}

// sessionSample is how many of a rule's pairs its training session sees.
const sessionSample = 50_000

// candidates runs every rule and returns the distinct candidate pairs as
// i<<32|j (i < j), sorted, with each rule's report and a sample of each
// rule's own pairs (evenly spaced, so repeatable) for training.
func (t *table) candidates(rules []blockRule) ([]uint64, []RuleReport, [][]uint64) {
	n := t.len()
	var pairs []uint64
	var reports []RuleReport
	samples := make([][]uint64, len(rules))
	if n < 2 {
		return nil, nil, samples
	}
	idxBits := bits.Len(uint(n))
	mask := uint64(1)<<idxBits - 1
	keys := make([]uint64, 0, n)
	var members []int32
	for ri, r := range rules {
		start := len(pairs)
		rep := RuleReport{Object: t.object, Rule: r.name}
		for _, f := range r.split {
			if c := t.col(f); c != nil {
				rep.Split = append(rep.Split, c.field)
			}
		}
		keys = keys[:0]
		for i := range n {
			r.keys(i, func(h uint64) {
				keys = append(keys, mix(h^hashString(r.name))<<idxBits|uint64(i))
			})
		}
		slices.Sort(keys)
		largest := 0
		compare := func(ms []int32) {
			for x := 0; x < len(ms); x++ {
				for y := x + 1; y < len(ms); y++ {
					a, b := ms[x], ms[y]
					if a == b {
						continue // one record with two keys in one block
					}
					if a > b {
						a, b = b, a
					}
					pairs = append(pairs, uint64(a)<<32|uint64(b))
					rep.Pairs++
				}
			}
		}
		for lo := 0; lo < len(keys); {
			hi := lo + 1
			for hi < len(keys) && keys[hi]>>idxBits == keys[lo]>>idxBits {
				hi++
			}
			if hi-lo >= 2 {
				members = members[:0]
				for _, k := range keys[lo:hi] {
					if m := int32(k & mask); len(members) == 0 || members[len(members)-1] != m {
						members = append(members, m)
					}
				}
				limit := r.max
				if limit == 0 {
					limit = MaxBlock
				}
				if len(members) <= limit {
					compare(members)
				} else {
					rep.Oversized++
					if len(members) > largest {
						largest = len(members)
						rep.Example = fmt.Sprintf("%d records like %s", len(members), t.id(members[0]))
					}
					rep.Uncompared += t.splitBlock(members, r.split, compare, limit)
				}
			}
			lo = hi
		}
		reports = append(reports, rep)
		own := pairs[start:]
		step := max(1, (len(own)+sessionSample-1)/sessionSample)
		for k := 0; k < len(own); k += step {
			samples[ri] = append(samples[ri], own[k])
		}
	}
	slices.Sort(pairs)
	return slices.Compact(pairs), reports, samples
}

// splitBlock compares an oversized block's records only with those sharing
// the first split field they have, and returns how many it left
// uncompared.
func (t *table) splitBlock(members []int32, split []string, compare func([]int32), limit int) int {
	type sub struct {
		key uint64
		i   int32
	}
	var cols []*column
	for _, f := range split {
		if c := t.col(f); c != nil {
			cols = append(cols, c)
		}
	}
	subs := make([]sub, 0, len(members))
	for _, m := range members {
		for k, c := range cols {
			if v := c.val(int(m)); v != 0 {
				subs = append(subs, sub{uint64(k)<<32 | uint64(v), m})
				break
			}
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
	left := len(members) - len(subs)
	var group []int32
	for lo := 0; lo < len(subs); {
		hi := lo + 1
		for hi < len(subs) && subs[hi].key == subs[lo].key {
			hi++
		}
		switch {
		case hi-lo > MaxBlock:
			left += hi - lo
		case hi-lo >= 2:
			group = group[:0]
			for _, s := range subs[lo:hi] {
				group = append(group, s.i)
			}
			compare(group)
		}
		lo = hi
	}
	return left
}

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
