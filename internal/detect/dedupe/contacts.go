package dedupe

import (
	"fmt"
	"strings"

	"github.com/crmops/crmops/internal/crm"
)

// Block kinds of contacts.
const (
	keyEmail uint8 = iota + 1
	keyPhoneLast
	keyNameCompany
)

// contactFields are what dedupe reads of a contact; all of them count for
// the survivor rule's "most non-empty fields".
var contactFields = []string{"email", "firstname", "lastname", "phone", "company", "created", "jobtitle", "lifecyclestage", "owner"}

// contact is one contact, kept compactly: names and companies are interned.
type contact struct {
	id       string
	email    string // normalized
	rawEmail string
	phone    string // phoneKey
	rawPhone string
	created  string
	first    uint32 // normalized, in names
	last     uint32
	rawFirst uint32 // as stored, in raws
	rawLast  uint32
	company  uint32 // in companies
	filled   uint8
	role     bool
}

type contactTable struct {
	recs      []contact
	names     *interner
	raws      *interner
	companies *interner
	// formal holds, per normalized name id, the formal names it may stand
	// for (nil when none is known).
	formal map[uint32][]string
}

func newContactTable() *contactTable {
	return &contactTable{names: newInterner(), raws: newInterner(), companies: newInterner(), formal: map[uint32][]string{}}
}

func (t *contactTable) object() string       { return "contacts" }
func (t *contactTable) fields() []string     { return contactFields }
func (t *contactTable) len() int             { return len(t.recs) }
func (t *contactTable) id(i int) string      { return t.recs[i].id }
func (t *contactTable) filled(i int) int     { return int(t.recs[i].filled) }
func (t *contactTable) created(i int) string { return t.recs[i].created }

func (t *contactTable) add(r crm.Record) {
	f := r.Fields
	c := contact{id: r.ID, rawEmail: f["email"], rawPhone: f["phone"], created: f["created"]}
	for _, k := range contactFields {
		if strings.TrimSpace(f[k]) != "" {
			c.filled++
		}
	}
	c.email = normEmail(c.rawEmail)
	if c.email == c.rawEmail {
		c.email = c.rawEmail // share the memory
	}
	if !strings.Contains(c.email, "@") {
		c.email = ""
	}
	c.role = isRole(c.email)
	c.phone = phoneKey(c.rawPhone)
	first, last := strings.TrimSpace(f["firstname"]), strings.TrimSpace(f["lastname"])
	c.rawFirst, c.rawLast = t.raws.id(first), t.raws.id(last)
	c.first = t.name(first)
	c.last = t.names.id(normName(last))
	c.company = t.companies.id(strings.TrimSpace(f["company"]))
	t.recs = append(t.recs, c)
}

// name interns a first name and remembers its formal names.
func (t *contactTable) name(raw string) uint32 {
	n := normName(raw)
	before := len(t.names.strs)
	id := t.names.id(n)
	if len(t.names.strs) > before {
		if f := formalNames(n); f != nil {
			t.formal[id] = f
		}
	}
	return id
}

// firstKeys are the forms of a first name blocks use: its formal names when
// it has any, else itself.
func (t *contactTable) firstKeys(id uint32) []string {
	if f := t.formal[id]; f != nil {
		return f
	}
	return []string{t.names.str(id)}
}

func (t *contactTable) keys(i int, emit func(kind uint8, h uint64)) {
	c := &t.recs[i]
	if c.email != "" {
		emit(keyEmail, hashStrings(c.email))
	}
	if c.last == 0 {
		return
	}
	last := t.names.str(c.last)
	if c.phone != "" {
		emit(keyPhoneLast, hashStrings(c.phone, last))
	}
	if c.first != 0 && c.company != 0 {
		co := t.companies.str(c.company)
		for _, f := range t.firstKeys(c.first) {
			emit(keyNameCompany, hashStrings(last, f, co))
		}
	}
}

func (t *contactTable) subKey(i int, kind uint8) uint64 {
	c := &t.recs[i]
	if kind == keyNameCompany || c.last == 0 || c.first == 0 {
		return 0
	}
	return hashStrings(t.names.str(c.last), t.firstKeys(c.first)[0])
}

func (t *contactTable) describe(i int, kind uint8) string {
	c := &t.recs[i]
	switch kind {
	case keyEmail:
		return "email " + c.email
	case keyPhoneLast:
		return "phone " + c.phone + " with last name " + t.names.str(c.last)
	}
	return "name " + t.names.str(c.last) + " at company " + t.companies.str(c.company)
}

// nameRel is how two contacts' names relate.
type nameRel int

const (
	namesUnknown  nameRel = iota // a side has no name, or only parts that agree
	namesEqual                   // equal after normalization
	namesNickname                // same last name, first names nickname and formal name
	namesTypo                    // one name equal (or nickname), the other one keystroke apart
	namesConflict                // different people by name
)

// partRel relates one name part.
type partRel int

const (
	partUnknown partRel = iota
	partEqual
	partNickname
	partTypo
	partDiffer
)

func relPart(a, b string, nick bool) partRel {
	switch {
	case a == "" || b == "":
		return partUnknown
	case a == b:
		return partEqual
	case nick && nicknameOf(a, b):
		return partNickname
	case typo(a, b):
		return partTypo
	}
	if nick {
		// A typo in a nickname's formal name: Maargaret / Peggy.
		for _, x := range append(formalNames(a), a) {
			for _, y := range append(formalNames(b), b) {
				if x != a || y != b {
					if x == y || typo(x, y) {
						return partTypo
					}
				}
			}
		}
	}
	return partDiffer
}

// typo reports whether two different names are one slip of the keyboard
// apart, or so similar that they read as one name.
func typo(a, b string) bool { return oneEdit(a, b) || jaroWinkler(a, b) >= 0.92 }

// nameRelation relates the names of a and b: the relation, which part has the
// typo (for a typo), and the similarity of the full names (first names in
// formal form when they are nicknames).
func (t *contactTable) nameRelation(a, b *contact) (rel nameRel, typoInLast bool, sim float64) {
	fa, fb := t.names.str(a.first), t.names.str(b.first)
	la, lb := t.names.str(a.last), t.names.str(b.last)
	if fa == "" && la == "" || fb == "" && lb == "" {
		return namesUnknown, false, 0
	}
	first, last := relPart(fa, fb, true), relPart(la, lb, false)
	if first == partNickname {
		fa, fb = t.firstKeys(a.first)[0], t.firstKeys(b.first)[0]
		for _, x := range t.firstKeys(a.first) {
			for _, y := range t.firstKeys(b.first) {
				if x == y {
					fa, fb = x, y
				}
			}
		}
	}
	sim = jaroWinkler(fa+" "+la, fb+" "+lb)
	switch {
	case first == partDiffer || last == partDiffer:
		return namesConflict, false, sim
	case first == partTypo && last == partTypo:
		return namesConflict, false, sim
	case first == partUnknown || last == partUnknown:
		if first == partTypo || last == partTypo {
			return namesConflict, false, sim
		}
		return namesUnknown, false, sim
	case first == partEqual && last == partEqual:
		return namesEqual, false, sim
	case first == partNickname && last == partEqual:
		return namesNickname, false, sim
	}
	return namesTypo, last == partTypo, sim
}

// companyRel relates two contacts' companies: 1 same, 0 unknown, -1 differ.
func companyRel(a, b *contact) int {
	switch {
	case a.company == 0 || b.company == 0:
		return 0
	case a.company == b.company:
		return 1
	}
	return -1
}

// score is the confidence that two contacts are one person. The evidence,
// strongest first:
//
//   - The same personal email (not a role address) with names that agree:
//     0.99 equal, 0.97 nickname, 0.85 + 0.1 x similarity for one typo, 0.90
//     when a side has no name; 0.45 when the names are different people's
//     (a shared family mailbox). Minus 0.1 for different companies, minus
//     0.05 for different phones.
//   - The same phone and last name: equal names 0.96 at the same company,
//     0.88 when a company is unknown, 0.55 at different companies; a
//     nickname 0.02 less. A typo in the first name (Daniel / Daniela) is a
//     different person sharing a line, 0.70; a typo in the last name with
//     equal first names 0.82 at the same company.
//   - A shared role address (info@, sales@) with equal names: 0.88 (same
//     or unknown company), nickname 0.85; anything less is not a match.
//   - Equal names at the same company with nothing else shared: 0.70 (a
//     candidate for review at a lower min_confidence, never by default).
func (t *contactTable) score(i, j int, why bool) (float64, string) {
	a, b := &t.recs[i], &t.recs[j]
	emailEq := a.email != "" && a.email == b.email
	phoneEq := a.phone != "" && a.phone == b.phone
	phoneDiff := a.phone != "" && b.phone != "" && !phoneEq
	rel, typoInLast, sim := t.nameRelation(a, b)
	co := companyRel(a, b)
	var conf float64
	switch {
	case emailEq && !a.role:
		switch rel {
		case namesEqual:
			conf = 0.99
		case namesNickname:
			conf = 0.97
		case namesTypo:
			conf = 0.85 + 0.1*sim
		case namesUnknown:
			conf = 0.90
		default:
			conf = 0.45
		}
		if co < 0 {
			conf -= 0.1
		}
		if phoneDiff {
			conf -= 0.05
		}
	case phoneEq:
		switch {
		case rel == namesEqual || rel == namesNickname:
			conf = [3]float64{0.55, 0.88, 0.96}[co+1]
			if rel == namesNickname {
				conf -= 0.02
			}
		case rel == namesTypo && typoInLast && co > 0:
			conf = 0.82
		case rel == namesTypo:
			conf = 0.70
		case rel == namesUnknown:
			conf = 0.50
		default:
			conf = 0.30
		}
	case emailEq: // a role address
		switch {
		case co < 0:
			conf = 0.4
		case rel == namesEqual:
			conf = 0.88
		case rel == namesNickname:
			conf = 0.85
		case rel == namesTypo:
			conf = 0.70
		default:
			conf = 0.30
		}
	default:
		switch {
		case co > 0 && rel == namesEqual:
			conf = 0.70
		case co > 0 && rel == namesNickname:
			conf = 0.65
		default:
			conf = 0.40
		}
	}
	if !why {
		return conf, ""
	}
	return conf, t.explain(a, b, emailEq, phoneEq, phoneDiff, rel, typoInLast, sim, co)
}

// explain lists the evidence for a pair, e.g. "same email ann@acme.io (case
// differs); names Ann Lee / ann lee (equal, 1.00); same company c-0042".
func (t *contactTable) explain(a, b *contact, emailEq, phoneEq, phoneDiff bool, rel nameRel, typoInLast bool, sim float64, co int) string {
	var parts []string
	if emailEq {
		s := "same email " + a.email
		var how []string
		ta, tb := strings.TrimSpace(a.rawEmail), strings.TrimSpace(b.rawEmail)
		if ta != a.rawEmail || tb != b.rawEmail {
			how = append(how, "spaces differ")
		}
		if ta != tb && strings.EqualFold(ta, tb) {
			how = append(how, "case differs")
		} else if !strings.EqualFold(ta, tb) {
			how = append(how, "Gmail dots/+tag differ")
		}
		if a.role {
			how = append(how, "a shared role address, not evidence on its own")
		}
		if len(how) > 0 {
			s += " (" + strings.Join(how, "; ") + ")"
		}
		parts = append(parts, s)
	}
	if phoneEq {
		if strings.TrimSpace(a.rawPhone) == strings.TrimSpace(b.rawPhone) {
			parts = append(parts, "same phone "+strings.TrimSpace(a.rawPhone))
		} else {
			parts = append(parts, fmt.Sprintf("same phone %s / %s", strings.TrimSpace(a.rawPhone), strings.TrimSpace(b.rawPhone)))
		}
	} else if phoneDiff {
		parts = append(parts, fmt.Sprintf("phones differ (%s / %s)", strings.TrimSpace(a.rawPhone), strings.TrimSpace(b.rawPhone)))
	}
	na := strings.TrimSpace(t.raws.str(a.rawFirst) + " " + t.raws.str(a.rawLast))
	nb := strings.TrimSpace(t.raws.str(b.rawFirst) + " " + t.raws.str(b.rawLast))
	switch rel {
	case namesUnknown:
		if na == "" && nb == "" {
			parts = append(parts, "no names")
		} else {
			parts = append(parts, fmt.Sprintf("names %q / %q (partly missing)", na, nb))
		}
	default:
		if rel == namesNickname {
			// The score compared formal forms; show how alike the names
			// look as typed.
			sim = jaroWinkler(t.names.str(a.first)+" "+t.names.str(a.last), t.names.str(b.first)+" "+t.names.str(b.last))
		}
		label := map[nameRel]string{
			namesEqual:    "equal",
			namesNickname: "nickname",
			namesTypo:     "one typo in the first name",
			namesConflict: "different",
		}[rel]
		if rel == namesTypo && typoInLast {
			label = "one typo in the last name"
		}
		parts = append(parts, fmt.Sprintf("names %s / %s (%s, %.2f)", na, nb, label, sim))
	}
	switch co {
	case 1:
		parts = append(parts, "same company "+t.companies.str(a.company))
	case -1:
		parts = append(parts, fmt.Sprintf("different companies %s / %s", t.companies.str(a.company), t.companies.str(b.company)))
	}
	return strings.Join(parts, "; ")
}

// namesAgree reports whether a's and b's names could be one person's: no
// part of them differs by more than a typo.
func (t *contactTable) namesAgree(i, j int) bool {
	a, b := &t.recs[i], &t.recs[j]
	return relPart(t.names.str(a.first), t.names.str(b.first), true) != partDiffer &&
		relPart(t.names.str(a.last), t.names.str(b.last), false) != partDiffer
}

// compatible reports whether members i and j, both merged into survivor s,
// can be one person. A name part may differ between them only when each is
// at most a typo away from the survivor's (two copies with a typo each);
// Christopher and Christina, both nicknamed Chris, are two people.
func (t *contactTable) compatible(s, i, j int) bool {
	rs, a, b := &t.recs[s], &t.recs[i], &t.recs[j]
	near := func(r partRel) bool { return r == partEqual || r == partTypo || r == partUnknown }
	parts := [2][3]uint32{{rs.first, a.first, b.first}, {rs.last, a.last, b.last}}
	for p, ids := range parts {
		nick := p == 0
		x, y, z := t.names.str(ids[0]), t.names.str(ids[1]), t.names.str(ids[2])
		if relPart(y, z, nick) == partDiffer && !(near(relPart(x, y, nick)) && near(relPart(x, z, nick))) {
			return false
		}
	}
	return true
}
