package seed

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/textdist"
)

// Duplicate kinds planted among contacts, and how often each is chosen.
var (
	dupKinds   = []string{"emailcase", "whitespace", "gmail", "nickname", "typo"}
	dupWeights = []int{22, 12, 14, 26, 26}
)

// Shares of base contacts that seed a hard negative: a twin (a relative or
// colleague with a nearly equal first name, the same last name and the same
// phone line), a family sharing one personal mailbox, or colleagues writing
// from one role address.
const (
	pTwin   = 0.004
	pFamily = 0.002
	pRole   = 0.003
)

// nameSpace is the number of (first, last) name combinations.
var nameSpace = len(firstNames) * len(lastNames)

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mix is SplitMix64's finaliser: a cheap, well-spread hash of one word.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// nextName returns the next unused name at base company j (and how many
// times the company has gone through all names, for the email), trying up
// to 400 names for one that want accepts; ok is false when none did.
func (g *gen) nextName(j int, want func(first string) bool) (first, last string, round int, ok bool) {
	// k -> a*k+b (mod nameSpace) is a permutation of all names when a is
	// coprime to nameSpace; a large a spreads neighbours over both lists.
	h := mix(g.seed ^ mix(uint64(j)))
	a, b := nameSpace/4+int(h%uint64(nameSpace/2)), int(h>>32)%nameSpace
	for gcd(a, nameSpace) != 1 {
		a++
	}
	for range 400 {
		k := int(g.coCount[j])
		g.coCount[j]++
		idx := (a*(k%nameSpace) + b) % nameSpace
		first, last, round = firstNames[idx%len(firstNames)], lastNames[idx/len(firstNames)], k/nameSpace
		if want == nil || want(first) {
			return first, last, round, true
		}
	}
	return first, last, round, false
}

// pickCompany chooses a contact's employer: a quarter of contacts work for
// the largest one percent of companies.
func (g *gen) pickCompany(r *rand.Rand) int {
	if r.IntN(4) == 0 {
		return r.IntN(g.bigCos)
	}
	return r.IntN(g.nBaseCo)
}

// workLocal builds an email's local part the way company pattern does; round
// tells same-named people apart once a company has used every name.
func workLocal(pattern int, first, last string, round int) string {
	f, l := lettersLower(first), lettersLower(last)
	var s string
	switch pattern {
	case 1:
		s = f + l
	case 2:
		s = f + "_" + l
	case 3:
		s = f + "-" + l
	default:
		s = f + "." + l
	}
	if round > 0 {
		s += strconv.Itoa(round + 1)
	}
	return s
}

// person is what copies and look-alikes of a base contact need to know.
type person struct {
	fields  map[string]string
	j       int // the base company
	co      company
	coID    string
	phone   phone
	hasPh   bool
	round   int
	pattern int
}

func (g *gen) contacts(ctx context.Context, r *rand.Rand) error {
	n := g.opts.Contacts
	s := newStream(g, ObjectContacts, n)
	step := span / time.Duration(max(n, 1))
	s.stamp = func(pos int, f map[string]string) {
		at := start.Add(time.Duration(pos) * step)
		if half := int64(step / 2); half > 0 {
			at = at.Add(time.Duration(r.Int64N(half)))
		}
		f["created"] = at.Format(time.RFC3339)
	}
	pDup := plantRate(g.opts.DuplicateRate)
	return s.run(ctx, ContactID, func(id string) map[string]string {
		plan := ""
		switch u := r.Float64(); {
		case u < pDup:
			plan = dupKinds[weighted(r, dupWeights)]
		case u < pDup+pTwin:
			plan = "twin"
		case u < pDup+pTwin+pFamily:
			plan = "family"
		case u < pDup+pTwin+pFamily+pRole:
			plan = "role"
		}
		if plan != "" && !s.room(3) {
			plan = ""
		}
		p, plan := g.person(s, r, plan)
		switch plan {
		case "":
		case "twin", "family", "role":
			g.plantLookalikes(s, r, plan, id, p)
		default:
			ref := g.newGroup(ObjectContacts, plan, false, id)
			kinds := []string{plan}
			if chance(r, 0.2) {
				kinds = append(kinds, pick(r, copyKinds(p)))
			}
			for _, kind := range kinds {
				s.schedule(r, ref, func() map[string]string { return g.contactCopy(r, kind, p) })
			}
		}
		return p.fields
	})
}

// person generates one base contact fit for plan; the plan comes back empty
// when no fitting contact could be made.
func (g *gen) person(s *stream, r *rand.Rand, plan string) (person, string) {
	j := g.pickCompany(r)
	co := g.company(j)
	var want func(string) bool
	switch plan {
	case "nickname":
		want = func(f string) bool { return len(nicknames[f]) > 0 }
	case "twin":
		want = func(f string) bool { return twins[f] != "" }
	}
	first, last, round, ok := g.nextName(j, want)
	if !ok {
		plan = ""
	}
	p := person{j: j, co: co, coID: CompanyID(int(g.coID[j]) - 1), round: round, pattern: co.pattern}

	var email string
	personal := plan == "gmail" || plan == "family" ||
		((plan == "" || plan == "emailcase" || plan == "whitespace" || plan == "typo") && chance(r, 0.12))
	switch {
	case plan == "family":
		email = "the" + lettersLower(last) + "s." + strconv.Itoa(s.pos) + "@gmail.com"
	case plan == "role":
		email = pick(r, roleLocalParts) + "@" + co.domain
	case personal:
		provider := pick(r, freeMail)
		if plan == "gmail" {
			provider = "gmail.com"
		}
		sep := pick(r, []string{".", "", "_", "."})
		email = lettersLower(first) + sep + lettersLower(last) + strconv.Itoa(s.pos) + "@" + provider
	case plan == "" && chance(r, 0.02):
		email = "" // a lead known only by phone
	default:
		email = workLocal(co.pattern, first, last, round) + "@" + co.domain
	}

	phoneStr := ""
	switch u := r.Float64(); {
	case plan == "nickname" || (plan == "twin" && u < 0.5):
		p.phone, p.hasPh = newPhone(r, co.country), true
		phoneStr = p.phone.formats()[r.IntN(plainFormats)]
	case plan == "twin":
		p.phone, p.hasPh = co.phone, true
		phoneStr = p.phone.formats()[r.IntN(plainFormats)]
	case u < 0.28:
	case u < 0.38:
		p.phone, p.hasPh = co.phone, true // the switchboard
		phoneStr = p.phone.format(r)
	default:
		p.phone, p.hasPh = newPhone(r, co.country), true
		phoneStr = p.phone.format(r)
	}

	title := pick(r, titles[r.IntN(len(titles))])
	if chance(r, 0.2) {
		title = ""
	}
	coID := p.coID
	if personal && chance(r, 0.2) {
		coID = ""
	}
	if plan == "" && email != "" && chance(r, 0.015) {
		first, last = "", "" // a web form that asked only for the email
	} else if plan == "" && chance(r, 0.02) {
		first, last = strings.ToLower(first), strings.ToLower(last)
	}
	p.fields = map[string]string{
		"email":          email,
		"firstname":      first,
		"lastname":       last,
		"jobtitle":       title,
		"phone":          phoneStr,
		"company":        coID,
		"lifecyclestage": stages[weighted(r, stageWeights)],
		"owner":          g.owner(r),
	}
	return p, plan
}

// copyKinds are the duplicate kinds a second copy of p may take.
func copyKinds(p person) []string {
	f := p.fields
	kinds := []string{"emailcase", "whitespace", "typo"}
	if strings.HasSuffix(f["email"], "@gmail.com") {
		kinds = append(kinds, "gmail")
	} else if len(nicknames[f["firstname"]]) > 0 && p.hasPh && f["phone"] != "" {
		kinds = append(kinds, "nickname")
	}
	return kinds
}

func clone(f map[string]string) map[string]string {
	c := make(map[string]string, len(f)+1)
	for k, v := range f {
		if k != "created" {
			c[k] = v
		}
	}
	return c
}

// contactCopy is a planted duplicate of p.
func (g *gen) contactCopy(r *rand.Rand, kind string, p person) map[string]string {
	of := p.fields
	f := clone(of)
	f["owner"] = g.owner(r)
	switch kind {
	case "emailcase":
		// A later web-form fill typed with capitals: little else known.
		f["email"] = caseVariant(r, of["email"])
		f["jobtitle"], f["phone"] = "", ""
		if p.hasPh && chance(r, 0.4) {
			f["phone"] = p.phone.reformat(r, of["phone"])
		}
		f["lifecyclestage"] = pick(r, []string{"subscriber", "lead"})
	case "whitespace":
		// Pasted from a spreadsheet: stray spaces, names in lower case.
		e := of["email"]
		if chance(r, 0.5) {
			e = caseVariant(r, e)
		}
		f["email"] = pick(r, []string{" " + e, e + " ", "  " + e + " ", e + "  "})
		if chance(r, 0.6) {
			f["firstname"], f["lastname"] = strings.ToLower(of["firstname"]), strings.ToLower(of["lastname"])
		}
		if chance(r, 0.5) {
			f["jobtitle"] = ""
		}
	case "gmail":
		f["email"] = gmailVariant(r, of["email"])
		if chance(r, 0.4) {
			f["company"] = ""
		}
		if chance(r, 0.5) {
			f["jobtitle"] = ""
		}
	case "nickname":
		// The person signed up under their short name, from a richer source.
		nick := pick(r, nicknames[of["firstname"]])
		f["firstname"] = nick
		f["email"] = workLocal(p.pattern, nick, of["lastname"], p.round) + "@" + p.co.domain
		f["phone"] = p.phone.reformat(r, of["phone"])
		if f["jobtitle"] == "" {
			f["jobtitle"] = pick(r, titles[r.IntN(len(titles))])
		}
	case "typo":
		// Typed by hand in a second import.
		if chance(r, 0.3) && len(of["firstname"]) >= 4 || len(of["lastname"]) < 4 {
			f["firstname"] = typo(r, of["firstname"])
		} else {
			f["lastname"] = typo(r, of["lastname"])
		}
		if chance(r, 0.3) {
			f["email"] = caseVariant(r, of["email"])
		}
		if chance(r, 0.5) {
			f["phone"] = ""
		}
	}
	return f
}

// plantLookalikes schedules the hard negatives around base contact p: records
// that share an email or a phone and a last name with it, yet are other
// people.
func (g *gen) plantLookalikes(s *stream, r *rand.Rand, plan, id string, p person) {
	of := p.fields
	ref := g.newGroup(ObjectContacts, plan, true, id)
	switch plan {
	case "twin":
		// Daniela beside Daniel: same last name, same company, same line.
		s.soon(r, ref, func() map[string]string {
			twin := twins[of["firstname"]]
			return map[string]string{
				"email":          workLocal(p.pattern, twin, of["lastname"], 0) + "@" + p.co.domain,
				"firstname":      twin,
				"lastname":       of["lastname"],
				"jobtitle":       pick(r, titles[r.IntN(len(titles))]),
				"phone":          p.phone.reformat(r, of["phone"]),
				"company":        p.coID,
				"lifecyclestage": stages[weighted(r, stageWeights)],
				"owner":          g.owner(r),
			}
		})
	case "family":
		// A spouse writing from the family's mailbox, maybe on the same
		// home phone.
		s.schedule(r, ref, func() map[string]string {
			first := of["firstname"]
			for first == of["firstname"] || related(first, of["firstname"]) || nearlyEqual(first, of["firstname"]) {
				first = pick(r, firstNames)
			}
			f := map[string]string{
				"email":          of["email"],
				"firstname":      first,
				"lastname":       of["lastname"],
				"jobtitle":       "",
				"phone":          "",
				"company":        "",
				"lifecyclestage": pick(r, []string{"subscriber", "lead"}),
				"owner":          g.owner(r),
			}
			if p.hasPh && of["phone"] != "" && chance(r, 0.5) {
				f["phone"] = p.phone.reformat(r, of["phone"])
			}
			return f
		})
	case "role":
		// Colleagues writing from the same shared mailbox.
		for range 1 + r.IntN(2) {
			s.soon(r, ref, func() map[string]string {
				first, last, _, _ := g.nextName(p.j, nil)
				if chance(r, 0.3) {
					first, last = "", ""
				}
				f := map[string]string{
					"email":          of["email"],
					"firstname":      first,
					"lastname":       last,
					"jobtitle":       pick(r, titles[r.IntN(len(titles))]),
					"phone":          "",
					"company":        p.coID,
					"lifecyclestage": stages[weighted(r, stageWeights)],
					"owner":          g.owner(r),
				}
				if chance(r, 0.5) {
					f["phone"] = p.co.phone.format(r)
				}
				return f
			})
		}
	}
}

// related reports whether two given names could be the same person's: one
// is a nickname of the other, or they are twins.
func related(a, b string) bool {
	for _, n := range nicknames[a] {
		if n == b {
			return true
		}
	}
	for _, n := range nicknames[b] {
		if n == a {
			return true
		}
	}
	return twins[a] == b || twins[b] == a
}

// nearlyEqual reports whether two names are at most two keystrokes apart
// (Elena and Helena, Victor and Victoria): relatives that close could not be
// told from a typo by anyone, so they are not planted as different people.
func nearlyEqual(a, b string) bool {
	return textdist.Levenshtein(strings.ToLower(a), strings.ToLower(b)) <= 2
}

// caseVariant writes an email with capitals: "Anna.Berg@Acme.io" or all
// upper case.
func caseVariant(r *rand.Rand, email string) string {
	if chance(r, 0.3) {
		return strings.ToUpper(email)
	}
	b := []byte(email)
	for i := range b {
		if i == 0 || strings.IndexByte("._-@", b[i-1]) >= 0 {
			if b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
	}
	return string(b)
}

// gmailVariant writes a Gmail address the ways Gmail delivers to the same
// mailbox: dots moved, a +tag, googlemail.com, capitals.
func gmailVariant(r *rand.Rand, email string) string {
	local, _, _ := strings.Cut(email, "@")
	plain := strings.ReplaceAll(local, ".", "")
	for range 8 {
		l := plain
		if chance(r, 0.5) && len(l) > 3 {
			at := 1 + r.IntN(len(l)-2)
			l = l[:at] + "." + l[at:]
		}
		if chance(r, 0.5) {
			l += "+" + pick(r, []string{"crm", "news", "work", "promo", "2024"})
		}
		domain := "gmail.com"
		if chance(r, 0.25) {
			domain = "googlemail.com"
		}
		v := l + "@" + domain
		if chance(r, 0.2) {
			v = caseVariant(r, v)
		}
		if v != email {
			return v
		}
	}
	return plain + "+crm@gmail.com"
}

// typo makes one slip of the keyboard in a name: two letters swapped, one
// dropped, one doubled or one replaced by its neighbour on the keyboard.
// The first letter is kept.
func typo(r *rand.Rand, s string) string {
	b := []byte(s)
	var at []int
	for i := 1; i < len(b); i++ {
		if b[i] >= 'a' && b[i] <= 'z' {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return s + "e"
	}
	for range 8 {
		i := pick(r, at)
		var out string
		switch r.IntN(4) {
		case 0:
			if i+1 < len(b) && b[i+1] >= 'a' && b[i+1] <= 'z' && b[i] != b[i+1] {
				c := append([]byte(nil), b...)
				c[i], c[i+1] = c[i+1], c[i]
				out = string(c)
			}
		case 1:
			if len(at) > 3 {
				out = s[:i] + s[i+1:]
			}
		case 2:
			out = s[:i+1] + s[i:]
		default:
			if nb := keyNeighbours[b[i]]; nb != "" {
				out = s[:i] + string(nb[r.IntN(len(nb))]) + s[i+1:]
			}
		}
		if out != "" && out != s {
			return out
		}
	}
	return s + s[len(s)-1:]
}

// keyNeighbours lists the letters next to each letter on a QWERTY keyboard.
var keyNeighbours = map[byte]string{
	'a': "sqz", 'b': "vn", 'c': "xv", 'd': "sf", 'e': "wr", 'f': "dg", 'g': "fh",
	'h': "gj", 'i': "uo", 'j': "hk", 'k': "jl", 'l': "k", 'm': "n", 'n': "bm",
	'o': "ip", 'p': "o", 'q': "w", 'r': "et", 's': "ad", 't': "ry", 'u': "yi",
	'v': "cb", 'w': "qe", 'x': "zc", 'y': "tu", 'z': "x",
}
