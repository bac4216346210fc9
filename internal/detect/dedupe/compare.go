package dedupe

import (
	"slices"
	"strings"
)

// A comparison type says how two values of one field are compared: an
// ordered list of levels from the closest agreement to plain disagreement,
// like Splink's comparison levels. Level 0 is always "missing": a side has
// no value, which is no evidence either way (weight 0). The m and u
// probabilities below are only where estimation starts (m) and what a small
// sample is smoothed towards (u); the detector estimates both from the data
// it reads (see model.go).
type kindDef struct {
	name   string
	levels []levelDef // levels[0] is the missing level
	// tf says whether the exact level (1) is adjusted by how common the
	// shared value is: a shared common surname counts less than a rare one.
	tf bool
	// norm turns a stored value into the value compared ("" = missing).
	norm func(string) string
}

type levelDef struct {
	label string
	m, u  float64
	// contradicts marks a disagreement that two records of one person
	// never show in practice (Daniel and Daniela): a pair at this level is
	// not merged, directly or through others, unless an identifier agrees.
	contradicts bool
}

// Comparison type names, as crmops.yaml spells them in fields:.
const (
	kindName     = "name"
	kindEmail    = "email"
	kindPhone    = "phone"
	kindDate     = "date"
	kindPostcode = "postcode"
	kindAddress  = "address"
	kindText     = "text"
	kindExact    = "exact"
	// Used by the defaults only: an identifier (identifiers:), a company's
	// name and a web domain.
	kindID      = "identifier"
	kindOrgName = "orgname"
	kindDomain  = "domain"
)

// userKinds are the comparison types a fields: entry may name.
var userKinds = []string{kindName, kindEmail, kindPhone, kindDate, kindPostcode, kindAddress, kindText, kindExact}

// Levels of each type, by index. Every type's level 1 is exact agreement.
const (
	nameExact = iota + 1
	nameNickname
	nameTypo
	nameSimilar
	nameInitial
	nameSwapped
	nameOtherForm
	nameDifferent
)

const (
	emailExact = iota + 1
	emailLocalNear
	emailLocalSame
	emailDifferent
)

const (
	phoneExact = iota + 1
	phoneOneDigit
	phoneDifferent
)

const (
	dateExact = iota + 1
	dateSwapped
	dateOneDigit
	dateDifferent
)

const (
	postExact = iota + 1
	postTypo
	postDifferent
)

const (
	addrExact = iota + 1
	addrSameNumberSimilar
	addrSameNumber
	addrNumberMissing
	addrOtherNumber
	addrDifferent
)

const (
	textExact = iota + 1
	textSameWords
	textTypo
	textSubset
	textOverlap
	textDifferent
)

const (
	idExact = iota + 1
	idOneChar
	idDifferent
)

const (
	exactEqual = iota + 1
	exactDifferent
)

var missing = levelDef{label: "missing"}

// kinds is the table of comparison types.
var kinds = map[string]*kindDef{
	kindName: {name: kindName, tf: true, norm: normName, levels: []levelDef{missing,
		{label: "exact", m: 0.80, u: 0.01},
		{label: "nickname", m: 0.04, u: 0.001},
		{label: "typo", m: 0.06, u: 0.002},
		{label: "similar", m: 0.03, u: 0.01},
		{label: "initial", m: 0.01, u: 0.005},
		{label: "swapped", m: 0.01, u: 0.0005},
		{label: "other form of the name", m: 0.002, u: 0.001, contradicts: true},
		{label: "different", m: 0.05, u: 0.97, contradicts: true},
	}},
	kindEmail: {name: kindEmail, tf: true, norm: normEmailValue, levels: []levelDef{missing,
		{label: "exact", m: 0.85, u: 0.0001},
		{label: "typo in the local part", m: 0.03, u: 0.0001},
		{label: "same local part, domain one typo off", m: 0.03, u: 0.0001},
		{label: "different", m: 0.09, u: 0.9997},
	}},
	kindPhone: {name: kindPhone, tf: true, norm: normPhoneLoose, levels: []levelDef{missing,
		{label: "exact", m: 0.85, u: 0.0001},
		{label: "one digit off", m: 0.03, u: 0.0005},
		{label: "different", m: 0.12, u: 0.9994},
	}},
	kindDate: {name: kindDate, tf: true, norm: normDate, levels: []levelDef{missing,
		{label: "exact", m: 0.85, u: 0.0005},
		{label: "day and month swapped", m: 0.02, u: 0.0001},
		{label: "one digit off", m: 0.05, u: 0.005},
		{label: "different", m: 0.08, u: 0.9944},
	}},
	kindPostcode: {name: kindPostcode, tf: true, norm: normPostcode, levels: []levelDef{missing,
		{label: "exact", m: 0.85, u: 0.01},
		{label: "typo", m: 0.08, u: 0.05},
		{label: "different", m: 0.07, u: 0.94},
	}},
	kindAddress: {name: kindAddress, tf: true, norm: normAddress, levels: []levelDef{missing,
		{label: "exact", m: 0.6, u: 0.0005},
		{label: "same number, similar street", m: 0.2, u: 0.0005},
		{label: "same number, other words", m: 0.05, u: 0.002},
		{label: "similar street, a number missing", m: 0.05, u: 0.001},
		{label: "other house number", m: 0.05, u: 0.3},
		{label: "different", m: 0.05, u: 0.696},
	}},
	kindText:    {name: kindText, tf: true, norm: normText, levels: textLevels()},
	kindOrgName: {name: kindOrgName, tf: true, norm: normCompany, levels: textLevels()},
	kindExact: {name: kindExact, tf: true, norm: normExact, levels: []levelDef{missing,
		{label: "exact", m: 0.9, u: 0.05},
		{label: "different", m: 0.1, u: 0.95},
	}},
	kindID: {name: kindID, tf: true, norm: normExact, levels: []levelDef{missing,
		{label: "exact", m: 0.9, u: 0.00001},
		{label: "one character off", m: 0.04, u: 0.0001},
		{label: "different", m: 0.06, u: 0.99989},
	}},
	kindCountry: {name: kindCountry, tf: true, norm: normCountry, levels: []levelDef{missing,
		{label: "exact", m: 0.95, u: 0.3},
		{label: "different", m: 0.05, u: 0.7},
	}},
	kindDomain: {name: kindDomain, tf: true, norm: normDomainValue, levels: []levelDef{missing,
		{label: "exact", m: 0.9, u: 0.0001},
		{label: "different", m: 0.1, u: 0.9999},
	}},
}

func textLevels() []levelDef {
	return []levelDef{missing,
		{label: "exact", m: 0.6, u: 0.001},
		{label: "same words", m: 0.05, u: 0.0005},
		{label: "typo", m: 0.08, u: 0.001},
		{label: "one name within the other", m: 0.08, u: 0.002},
		{label: "words in common", m: 0.09, u: 0.02},
		{label: "different", m: 0.1, u: 0.9755},
	}
}

// compareValues gives the level of two normalized values of one kind,
// both non-empty. Names need the other name part too (for swapped first
// and last names), see compareNames.
func compareValues(kind string, a, b string) uint8 {
	if a == b {
		return 1
	}
	switch kind {
	case kindEmail:
		return compareEmail(a, b)
	case kindPhone:
		return comparePhone(a, b)
	case kindDate:
		return compareDate(a, b)
	case kindPostcode:
		if damerau(a, b, 1) <= 1 {
			return postTypo
		}
		return postDifferent
	case kindAddress:
		return compareAddress(a, b)
	case kindText, kindOrgName:
		return compareText(a, b, nil)
	case kindID:
		if damerau(a, b, 1) <= 1 {
			return idOneChar
		}
		return idDifferent
	case kindName:
		return compareNames(a, b, "", "", true)
	}
	return 2 // exact and domain: different
}

// compareNames relates name parts a and b (both non-empty), given the
// other part of each record (aOther, bOther, "" when missing) to see
// swapped first and last names. first says whether these are given names
// (nicknames and other-gender forms apply).
func compareNames(a, b, aOther, bOther string, first bool) uint8 {
	switch {
	case a == b:
		return nameExact
	case first && nicknameOf(a, b):
		return nameNickname
	}
	if first && otherForm(a, b) {
		return nameOtherForm
	}
	if damerau(a, b, 1) <= 1 || jaroWinkler(a, b) >= 0.94 {
		return nameTypo
	}
	if first && nicknameTypo(a, b) {
		return nameTypo
	}
	// Swapped: this part is the other record's other part (or one typo from
	// it). Checked before "similar" so Morris / Morrison is not mistaken.
	if aOther != "" && bOther != "" && (a == bOther || damerau(a, bOther, 1) <= 1) && (b == aOther || damerau(b, aOther, 1) <= 1) {
		return nameSwapped
	}
	if len(a) == 1 || len(b) == 1 {
		if a[0] == b[0] {
			return nameInitial
		}
		return nameDifferent
	}
	if jaroWinkler(a, b) >= 0.85 || min(len(a), len(b)) >= 5 && damerau(a, b, 2) <= 2 {
		return nameSimilar
	}
	return nameDifferent
}

// nicknameTypo sees a typo in a nickname's formal name: Maargaret / Peggy.
func nicknameTypo(a, b string) bool {
	for _, x := range append(formalNames(a), a) {
		for _, y := range append(formalNames(b), b) {
			if (x != a || y != b) && (x == y || damerau(x, y, 1) <= 1) {
				return true
			}
		}
	}
	return false
}

// feminine endings that turn a given name into another person's: Daniel /
// Daniela, Paul / Paula, Louis / Louise, Julian / Juliana, Eric / Erica.
var feminine = []string{"a", "e", "ia", "ina", "ine", "ette", "elle", "na"}

// otherForm reports whether two given names are one name's masculine and
// feminine forms: another person, not a typo, however alike they look.
func otherForm(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) < 3 || !strings.HasPrefix(b, a) {
		return false
	}
	for _, end := range feminine {
		if b[len(a):] == end {
			return true
		}
	}
	return false
}

func compareEmail(a, b string) uint8 {
	la, da, _ := strings.Cut(a, "@")
	lb, db, _ := strings.Cut(b, "@")
	switch {
	case la == lb && damerau(da, db, 1) <= 1:
		return emailLocalSame
	case da == db && len(la) >= 4 && len(lb) >= 4 && damerau(la, lb, 2) <= 2:
		return emailLocalNear
	}
	return emailDifferent
}

// comparePhone compares "cc|nsn" phones (see normPhone): the national
// numbers must agree, and the country codes when both are known.
func comparePhone(a, b string) uint8 {
	ca, na, _ := strings.Cut(a, "|")
	cb, nb, _ := strings.Cut(b, "|")
	sameCountry := ca == "" || cb == "" || ca == cb
	switch {
	case na == nb && sameCountry:
		return phoneExact
	case sameCountry && len(na) == len(nb) && damerau(na, nb, 1) <= 1:
		return phoneOneDigit
	}
	return phoneDifferent
}

// compareDate compares YYYYMMDD dates (other text is compared as it is).
func compareDate(a, b string) uint8 {
	if len(a) == 8 && len(b) == 8 && a[:4] == b[:4] && a[4:6] == b[6:8] && a[6:8] == b[4:6] {
		return dateSwapped
	}
	if len(a) == len(b) && damerau(a, b, 1) <= 1 {
		return dateOneDigit
	}
	return dateDifferent
}

// compareAddress compares normalized addresses: the house numbers must
// agree where both have them (a number within the other's range agrees),
// then the streets are compared.
func compareAddress(a, b string) uint8 {
	pa, pb := parseAddress(a), parseAddress(b)
	if pa.number != "" && pb.number != "" && !sameHouse(pa, pb) {
		return addrOtherNumber
	}
	similar := similarStreet(pa, pb)
	switch {
	case pa.number != "" && pb.number != "" && similar:
		return addrSameNumberSimilar
	case pa.number != "" && pb.number != "":
		return addrSameNumber
	case similar:
		return addrNumberMissing
	}
	return addrDifferent
}

// address is a normalized address taken apart for comparing.
type address struct {
	// number is the house number: the first number that is not an
	// ordinal street name (51st). A range "4753-59" (normalized "4753
	// 59") ends at last; otherwise last is number. Later numbers (a suite,
	// a flat, a floor) are left out: one record often lacks them.
	number, last string
	// direction is the street's direction (n, s, e, w, ne...), "" if none:
	// 1900 N Halsted and 1900 S Halsted are miles apart.
	direction string
	// street is the street's own words, without direction, street type
	// (st, ave), unit words (apt, fl) and numbers: "van buren" of "1900 W.
	// Van Buren St., Suite 1608". words is every word but the numbers.
	street, words []string
}

// streetTypes are the normalized street types (see streetWords) and
// unitWords the words of a flat, suite or floor: neither names a street.
var (
	streetTypes = map[string]bool{
		"st": true, "rd": true, "ave": true, "blvd": true, "dr": true, "ln": true, "ct": true,
		"pl": true, "sq": true, "tce": true, "hwy": true, "pkwy": true, "cct": true, "cres": true,
		"cl": true, "way": true, "pde": true, "cir": true, "ter": true, "expy": true,
	}
	unitWords = map[string]bool{
		"apt": true, "ste": true, "fl": true, "unit": true, "unt": true, "rm": true, "room": true,
		"bldg": true, "building": true, "flt": true, "flat": true, "lot": true, "level": true,
		"lvl": true, "no": true, "dept": true,
	}
	directions = map[string]bool{"n": true, "s": true, "e": true, "w": true, "ne": true, "nw": true, "se": true, "sw": true}
)

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isOrdinal reports whether a word is an ordinal number: 51st, 2nd, 103rd.
func isOrdinal(w string) bool {
	n := len(w)
	if n < 3 || !isDigits(w[:n-2]) {
		return false
	}
	switch w[n-2:] {
	case "st", "nd", "rd", "th":
		return true
	}
	return false
}

// parseAddress takes a normalized address apart (see address).
func parseAddress(s string) address {
	var a address
	toks := strings.Fields(s)
	for k := 0; k < len(toks); k++ {
		w := toks[k]
		if w[0] >= '0' && w[0] <= '9' && !isOrdinal(w) {
			if a.number == "" {
				a.number, a.last = w, w
				// "4753 59": a range, when the second number is shorter.
				if k+1 < len(toks) && isDigits(w) && isDigits(toks[k+1]) && len(toks[k+1]) < len(w) {
					end := w[:len(w)-len(toks[k+1])] + toks[k+1]
					if end > w {
						a.last = end
					}
					k++
				}
			}
			continue
		}
		a.words = append(a.words, w)
		switch {
		case directions[w] && len(a.street) == 0 && a.direction == "":
			a.direction = w
		case streetTypes[w] || unitWords[w] || directions[w]:
		default:
			a.street = append(a.street, w)
		}
	}
	if len(a.street) == 0 {
		a.street = a.words
	}
	return a
}

// sameHouse reports whether two house numbers agree: equal, or one within
// the other's range.
func sameHouse(a, b address) bool {
	if a.number == b.number {
		return true
	}
	in := func(x, lo, hi string) bool {
		return isDigits(x) && isDigits(lo) && len(x) == len(lo) && len(x) == len(hi) && lo <= x && x <= hi
	}
	return in(a.number, b.number, b.last) || in(b.number, a.number, a.last)
}

// similarStreet reports whether two addresses name one street: no other
// direction, and the street words equal (spaces aside: Van Buren and
// Vanburen), one typo or two apart, one set within the other, or sharing
// at least half of their words.
func similarStreet(a, b address) bool {
	if len(a.street) == 0 || len(b.street) == 0 {
		return false
	}
	if a.direction != "" && b.direction != "" && a.direction != b.direction {
		return false
	}
	sa, sb := strings.Join(a.street, " "), strings.Join(b.street, " ")
	if sa == sb || strings.ReplaceAll(sa, " ", "") == strings.ReplaceAll(sb, " ", "") {
		return true
	}
	return jaroWinkler(sa, sb) >= 0.9 || min(len(sa), len(sb)) >= 5 && damerau(sa, sb, 2) <= 2 ||
		within(a.street, b.street) || within(b.street, a.street) || overlap(a.words, b.words) >= 0.5
}

// compareText compares two texts by their words, each weighing what
// weights gives it (nil: all alike; see column.weights): a name within the
// other when the other's words hold nearly all of its weight, words in
// common when they hold half of both.
func compareText(a, b string, weights map[string]float32) uint8 {
	// Words on the stack: this runs for millions of pairs.
	var bufA, bufB [16]string
	ta, tb := words(a, bufA[:0]), words(b, bufB[:0])
	switch {
	case sameWordSet(ta, tb):
		return textSameWords
	case damerau(a, b, 1) <= 1 || jaroWinkler(a, b) >= 0.94:
		return textTypo
	}
	ca, wa := matchedWeight(ta, tb, weights)
	cb, wb := matchedWeight(tb, ta, weights)
	switch {
	case wa == 0 || wb == 0:
		return textDifferent
	case ca >= subsetShare*wa || cb >= subsetShare*wb:
		return textSubset
	case ca+cb >= overlapShare*(wa+wb):
		return textOverlap
	}
	return textDifferent
}

const subsetShare, overlapShare = 0.85, 0.5

// matchedWeight is the weight of a's distinct words found in b (equal, one
// typo apart, or one an abbreviation of the other: comm, community), and
// the weight of all of a's distinct words.
func matchedWeight(a, b []string, weights map[string]float32) (matched, all float64) {
	for k, w := range a {
		if slices.Contains(a[:k], w) {
			continue
		}
		x := 1.0
		if weights != nil {
			if v, ok := weights[w]; ok {
				x = float64(v)
			}
		}
		all += x
		if slices.Contains(b, w) {
			matched += x
			continue
		}
		for _, o := range b {
			if sameWord(w, o) {
				matched += x
				break
			}
		}
	}
	return matched, all
}

// sameWord reports whether two different words are one: one typo apart
// (both of five letters or more), or one the other's abbreviation (three
// letters or more of its start: assoc, association).
func sameWord(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	switch {
	case len(a) >= 5 && damerau(a, b, 1) <= 1:
		return true
	case len(a) >= 3 && len(b) > len(a) && strings.HasPrefix(b, a) && !isDigits(a[:1]):
		return true
	}
	return false
}

// words splits s at spaces into buf (normalized texts have single spaces).
func words(s string, buf []string) []string {
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(buf, s)
		}
		if i > 0 {
			buf = append(buf, s[:i])
		}
		s = s[i+1:]
	}
	return buf
}

func sameWordSet(a, b []string) bool {
	return within(a, b) && within(b, a)
}

// within reports whether every word of a is in b.
func within(a, b []string) bool {
	if len(a) == 0 {
		return false
	}
	for _, w := range a {
		if !slices.Contains(b, w) {
			return false
		}
	}
	return true
}

func overlap(ta, tb []string) float64 {
	if len(ta) == 0 || len(tb) == 0 {
		return 0
	}
	distinct := func(ws []string, k int) bool { return !slices.Contains(ws[:k], ws[k]) }
	common, union := 0, 0
	for k, w := range ta {
		if distinct(ta, k) {
			union++
			if slices.Contains(tb, w) {
				common++
			}
		}
	}
	for k, w := range tb {
		if distinct(tb, k) && !slices.Contains(ta, w) {
			union++
		}
	}
	return float64(common) / float64(union)
}

// damerau is the optimal-string-alignment distance of a and b (inserts,
// deletes, replacements and swaps of neighbours), or limit+1 once it is
// known to exceed limit.
func damerau(a, b string, limit int) int {
	if a == b {
		return 0
	}
	la, lb := len(a), len(b)
	if d := la - lb; d > limit || -d > limit {
		return limit + 1
	}
	if la > 32 || lb > 32 {
		// Long texts: a bounded Levenshtein is close enough.
		if d := boundedLevenshtein(a, b, limit); d <= limit {
			return d
		}
		return limit + 1
	}
	var rows [3][33]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			best = min(best, v)
		}
		if best > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[lb] > limit {
		return limit + 1
	}
	return prev[lb]
}

func boundedLevenshtein(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
