// Package sample generates the demo CRM that the quickstart starts from: a
// few hundred contacts and companies with the flaws real CRMs have (empty
// fields, duplicates, phones in every format, records owned by people who
// left), plus the changes crmops' five scenarios would propose for them.
//
// Everything depends only on Options: the same options give byte-identical
// data, so the quickstart, its documentation and its tests agree.
package sample

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
)

// Sizes the quickstart uses when Options leaves them zero.
const (
	DefaultContacts  = 300
	DefaultCompanies = 80
)

// Objects the sample CRM holds.
const (
	ObjectContacts  = "contacts"
	ObjectCompanies = "companies"
)

// Options selects a sample data set.
type Options struct {
	// Seed selects the data; the same seed and sizes give the same data.
	Seed int64
	// Contacts and Companies are the numbers of records, planted duplicates
	// included. Zero or less means DefaultContacts and DefaultCompanies.
	Contacts, Companies int
}

// Owner is a CRM user records can be assigned to. Contacts and companies name
// their owner by ID in the "owner" field.
type Owner struct {
	ID     string
	Name   string
	Email  string
	Active bool
}

// Data is a generated demo CRM and the changes proposed for it.
type Data struct {
	// Companies have ids "c-0001", ... and the fields name, domain,
	// industry, employees, country and owner.
	Companies []crm.Record
	// Contacts have ids "1001", ... and the fields email, firstname,
	// lastname, jobtitle, phone, company (a company id), lifecyclestage,
	// owner, email_status and created. Every record carries every field; an
	// empty value means the field is unset.
	Contacts []crm.Record
	// Owners are the CRM's users; some are inactive (they left).
	Owners []Owner
	// Changes are the proposals for the five scenarios, with empty ids. They
	// apply cleanly to the records above (every Before is the record's
	// current value) and no record is touched by more than one change.
	Changes []batch.Change
}

// Field names of the sample CRM, in the order WriteCSV writes them.
var (
	companyFields = []string{"name", "domain", "industry", "employees", "country", "owner"}
	contactFields = []string{"email", "firstname", "lastname", "jobtitle", "phone", "company", "lifecyclestage", "owner", "email_status", "created"}
)

// contactInfo is what the generator knows about a contact beyond its fields:
// where Clay's answers come from and which flaw was planted.
type contactInfo struct {
	dept    int
	country string
	phone   phoneNumber
	plant   string // "role" or "disposable" for planted risky emails
	// nick and nickEmail name a nickname duplicate's copy.
	nick, nickEmail string
}

// pair is a planted duplicate: copy was created after orig.
type pair struct {
	orig, copy string
	kind       string // suffix (companies); emailcase, nickname, typo (contacts)
}

type gen struct {
	r    *rand.Rand
	opts Options

	active   []Owner
	inactive []Owner
	ownerOf  map[string]Owner

	companies []crm.Record
	contacts  []crm.Record
	record    map[string]*crm.Record // object/id
	info      map[string]*contactInfo
	emails    map[string]bool // lower-cased contact emails in use

	coPairs, ctPairs []pair
	claimed          map[string]bool // object/id with a change
	noValid          map[string]bool // email domains with inconclusive results
	changes          []pendingChange
}

// pendingChange is a change whose reason may still need the vendor's row
// number, known only once changes are in their final order.
type pendingChange struct {
	c      batch.Change
	vendor string               // "clay", "zerobounce" or ""
	reason func(row int) string // set when vendor is
}

// Generate builds the demo CRM and its proposals for opts.
func Generate(opts Options) Data {
	if opts.Contacts <= 0 {
		opts.Contacts = DefaultContacts
	}
	if opts.Companies <= 0 {
		opts.Companies = DefaultCompanies
	}
	s := uint64(opts.Seed)
	g := &gen{
		r:       rand.New(rand.NewPCG(s, s)),
		opts:    opts,
		ownerOf: map[string]Owner{},
		record:  map[string]*crm.Record{},
		info:    map[string]*contactInfo{},
		emails:  map[string]bool{},
		claimed: map[string]bool{},
	}
	for _, o := range owners {
		g.ownerOf[o.ID] = o
		if o.Active {
			g.active = append(g.active, o)
		} else {
			g.inactive = append(g.inactive, o)
		}
	}
	g.genCompanies()
	g.genContacts()
	g.proposeDedupe()
	g.proposeOwners()
	g.proposeEmails()
	g.proposeEnrichment()
	g.proposeLifecycle()
	g.proposeValidEmails()
	return Data{
		Companies: g.companies,
		Contacts:  g.contacts,
		Owners:    slices.Clone(owners),
		Changes:   g.finish(),
	}
}

// scale turns a count meant for 300 contacts into one for this data set.
func (g *gen) scale(per300 int) int {
	return max((per300*g.opts.Contacts+150)/300, 1)
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// chance reports true with probability pct percent.
func (g *gen) chance(pct int) bool { return g.r.IntN(100) < pct }

// conf draws a confidence in [lo, hi] hundredths, e.g. conf(91, 99).
func (g *gen) conf(lo, hi int) float64 { return float64(lo+g.r.IntN(hi-lo+1)) / 100 }

// keyed orders generated records: base records keep their index, planted
// copies land at a random later position (a copy is always created later).
type keyed struct {
	key    float64
	fields map[string]string
	info   *contactInfo
	pair   int // index into the pair list, -1 for none
	isCopy bool
}

func (g *gen) copyKey(orig, nBase int) float64 {
	return float64(orig) + 0.5 + g.r.Float64()*float64(nBase-1-orig)
}

func sortKeyed(ks []keyed) {
	slices.SortStableFunc(ks, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
}

func (g *gen) genCompanies() {
	n := g.opts.Companies
	nDup := min(max(2, n/25), n/4)
	nBase := n - nDup
	ks := make([]keyed, 0, n)
	usedName, usedDomain := map[string]bool{}, map[string]bool{}
	cw := make([]int, len(countries))
	for i, c := range countries {
		cw[i] = c.weight
	}
	for i := range nBase {
		c := countries[weighted(g.r, cw)]
		sec := pick(g.r, sectors)
		var name, domain string
		for try := 0; ; try++ {
			base := pick(g.r, companyPrefixes) + pick(g.r, companyStems)
			name = base + " " + sec.word
			domain = strings.ToLower(base) + pick(g.r, c.tlds)
			if try >= 30 {
				name = fmt.Sprintf("%s %s %d", base, sec.word, i+1)
				domain = fmt.Sprintf("%s%d%s", strings.ToLower(base), i+1, c.tlds[0])
			}
			if !usedName[strings.ToLower(name)] && !usedDomain[domain] {
				break
			}
		}
		usedName[strings.ToLower(name)], usedDomain[domain] = true, true
		f := map[string]string{
			"name":      name,
			"domain":    domain,
			"industry":  sec.industry,
			"employees": strconv.Itoa(employees(g.r)),
			"country":   c.name,
			"owner":     pick(g.r, g.active).ID,
		}
		if g.chance(8) {
			f["industry"] = ""
		}
		if g.chance(10) {
			f["employees"] = ""
		}
		ks = append(ks, keyed{key: float64(i), fields: f, pair: -1})
	}
	for k, orig := range g.r.Perm(nBase)[:nDup] {
		of := ks[orig].fields
		f := map[string]string{
			"name":      of["name"] + pick(g.r, incSuffixes),
			"domain":    of["domain"],
			"industry":  "",
			"employees": "",
			"country":   of["country"],
			"owner":     pick(g.r, g.active).ID,
		}
		if of["industry"] == "" {
			of["industry"] = sectorIndustry(of["name"])
		}
		if k%2 == 0 {
			// The copy is a bare import; the original stays the better record.
			if of["employees"] == "" {
				of["employees"] = strconv.Itoa(employees(g.r))
			}
		} else {
			// The copy came from a richer source than the original.
			f["industry"], f["employees"] = of["industry"], strconv.Itoa(employees(g.r))
			of["employees"] = ""
		}
		ks[orig].pair = k
		g.coPairs = append(g.coPairs, pair{kind: "suffix"})
		ks = append(ks, keyed{key: g.copyKey(orig, nBase), fields: f, pair: k, isCopy: true})
	}
	sortKeyed(ks)
	g.companies = make([]crm.Record, len(ks))
	for i, k := range ks {
		id := fmt.Sprintf("c-%04d", i+1)
		g.companies[i] = crm.Record{ID: id, Fields: k.fields}
		g.record[ObjectCompanies+"/"+id] = &g.companies[i]
		if k.pair >= 0 {
			if k.isCopy {
				g.coPairs[k.pair].copy = id
			} else {
				g.coPairs[k.pair].orig = id
			}
		}
	}
}

func sectorIndustry(name string) string {
	for _, s := range sectors {
		if strings.HasSuffix(name, " "+s.word) {
			return s.industry
		}
	}
	return sectors[0].industry
}

// employees draws a head count between 5 and about 1,400, small ones likelier.
func employees(r *rand.Rand) int {
	n := 5.0
	for range 3 {
		n *= 1 + r.Float64()*5.5
	}
	return int(n)
}

// contactPlan is what genContacts must plant in one base contact.
type contactPlan struct {
	dup      string // emailcase, nickname or typo: this contact gets a copy
	pairIdx  int
	risky    string // role or disposable
	inactive int    // index+1 into g.inactive, 0 for an active owner
}

var dupKinds = []string{"emailcase", "nickname", "typo"}

// riskyCycle is the order in which risky email results are planted.
var riskyCycle = []string{"invalid", "role", "catch_all", "disposable", "unknown", "invalid"}

func (g *gen) riskyPlan() []string {
	n := g.scale(6)
	out := make([]string, n)
	for i := range out {
		out[i] = riskyCycle[i%len(riskyCycle)]
	}
	return out
}

func (g *gen) genContacts() {
	n := g.opts.Contacts
	nDup := min(max(4, n/50), n/4)
	nBase := n - nDup
	plans := make([]contactPlan, nBase)
	perm := g.r.Perm(nBase)
	take := func(k int) []int {
		k = min(k, len(perm))
		s := perm[:k]
		perm = perm[k:]
		return s
	}
	origs := take(nDup)
	for k, i := range origs {
		plans[i].dup, plans[i].pairIdx = dupKinds[k%len(dupKinds)], k
	}
	for _, kind := range []string{"role", "disposable"} {
		for _, i := range take(count(g.riskyPlan(), kind)) {
			plans[i].risky = kind
		}
	}
	for k, i := range take(g.scale(10)) {
		plans[i].inactive = k%len(g.inactive) + 1
	}

	ks := make([]keyed, 0, n)
	for i, p := range plans {
		f, info := g.person(p)
		ks = append(ks, keyed{key: float64(i), fields: f, info: info, pair: -1})
	}
	for _, i := range origs {
		p := plans[i]
		f, info := g.duplicate(p.dup, ks[i].fields, ks[i].info)
		ks[i].pair = p.pairIdx
		g.ctPairs = append(g.ctPairs, pair{kind: p.dup})
		ks = append(ks, keyed{key: g.copyKey(i, nBase), fields: f, info: info, pair: p.pairIdx, isCopy: true})
	}
	sortKeyed(ks)

	start := time.Date(2023, 1, 9, 9, 0, 0, 0, time.UTC)
	step := time.Duration(int64(1390*24*time.Hour) / int64(max(len(ks), 1)))
	g.contacts = make([]crm.Record, len(ks))
	for i, k := range ks {
		id := strconv.Itoa(1001 + i)
		at := start.Add(time.Duration(i) * step)
		if half := int64(step / 2); half > 0 {
			at = at.Add(time.Duration(g.r.Int64N(half)))
		}
		k.fields["created"] = at.Truncate(time.Minute).Format(time.RFC3339)
		g.contacts[i] = crm.Record{ID: id, Fields: k.fields}
		g.record[ObjectContacts+"/"+id] = &g.contacts[i]
		g.info[id] = k.info
		if k.pair >= 0 {
			if k.isCopy {
				g.ctPairs[k.pair].copy = id
			} else {
				g.ctPairs[k.pair].orig = id
			}
		}
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// lettersLower keeps a name's ASCII letters, lower-cased, for an email.
func lettersLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// localPart builds an email's local part the way companies do.
func localPart(pattern int, first, last string) string {
	f, l := lettersLower(first), lettersLower(last)
	switch pattern {
	case 1:
		return f[:1] + l
	case 2:
		return f
	case 3:
		return f + "_" + l
	case 4:
		return f + l[:1]
	}
	return f + "." + l
}

func nicksOf(formal string) []string {
	for _, n := range nicknames {
		if n.formal == formal {
			return n.nick
		}
	}
	return nil
}

// person generates one base contact following its plan.
func (g *gen) person(p contactPlan) (map[string]string, *contactInfo) {
	var comp *crm.Record
	var first, last, email, nick, nickEmail string
	for try := 0; ; try++ {
		comp = &g.companies[g.r.IntN(len(g.companies))]
		first, last = pick(g.r, firstNames), pick(g.r, lastNames)
		if p.dup == "nickname" {
			first = pick(g.r, nicknames).formal
		}
		pattern := weighted(g.r, []int{50, 20, 10, 10, 10})
		if p.dup != "" {
			pattern = 0
		}
		domain := comp.Fields["domain"]
		email = localPart(pattern, first, last) + "@" + domain
		switch p.risky {
		case "role":
			email = pick(g.r, roleLocalParts) + "@" + domain
		case "disposable":
			email = localPart(0, first, last) + strconv.Itoa(10+g.r.IntN(90)) + "@" + pick(g.r, disposableDomains)
		}
		if try > 100 {
			email = fmt.Sprintf("%s%d@%s", localPart(0, first, last), try, domain)
		}
		nick, nickEmail = "", ""
		if p.dup == "nickname" {
			nick = pick(g.r, nicksOf(first))
			nickEmail = localPart(0, nick, last) + "@" + domain
		}
		if !g.emails[email] && (nickEmail == "" || !g.emails[nickEmail]) {
			break
		}
	}
	g.emails[email] = true
	if nickEmail != "" {
		g.emails[nickEmail] = true
	}
	country := comp.Fields["country"]
	info := &contactInfo{dept: g.r.IntN(len(departments)), country: country, plant: p.risky, nick: nick, nickEmail: nickEmail}
	info.phone = newPhone(g.r, country)

	title := pick(g.r, departments[info.dept].titles)
	if g.chance(22) {
		title = ""
	}
	formats := phoneFormats(country, info.phone)
	phone := pick(g.r, formats)
	if g.chance(25) {
		phone = ""
	}
	switch p.dup {
	case "nickname":
		title, phone = "", formats[g.r.IntN(plainPhoneFormats)]
	case "emailcase":
		if title == "" {
			title = pick(g.r, departments[info.dept].titles)
		}
		if phone == "" {
			phone = formats[g.r.IntN(plainPhoneFormats)]
		}
	}
	stage := stages[weighted(g.r, stageWeights)]
	status := emailStatuses[weighted(g.r, emailStatusWeights)]
	if p.risky != "" {
		stage, status = pick(g.r, []string{"subscriber", "lead"}), ""
	}
	owner := pick(g.r, g.active).ID
	if p.inactive > 0 {
		owner = g.inactive[p.inactive-1].ID
	}
	return map[string]string{
		"email":          email,
		"firstname":      first,
		"lastname":       last,
		"jobtitle":       title,
		"phone":          phone,
		"company":        comp.ID,
		"lifecyclestage": stage,
		"owner":          owner,
		"email_status":   status,
	}, info
}

// duplicate makes the planted copy of a base contact.
func (g *gen) duplicate(kind string, of map[string]string, oi *contactInfo) (map[string]string, *contactInfo) {
	f := make(map[string]string, len(of))
	for k, v := range of {
		f[k] = v
	}
	info := &contactInfo{dept: oi.dept, country: oi.country, phone: oi.phone}
	switch kind {
	case "emailcase":
		// A later web-form fill typed with capitals: little else known.
		f["email"] = mixedCase(of["email"])
		f["jobtitle"], f["phone"], f["email_status"] = "", "", ""
		f["lifecyclestage"] = pick(g.r, []string{"subscriber", "lead"})
		f["owner"] = pick(g.r, g.active).ID
	case "nickname":
		// The person signed up under their short name, from a richer source.
		f["firstname"], f["email"] = oi.nick, oi.nickEmail
		f["jobtitle"] = pick(g.r, departments[oi.dept].titles)
		formats := phoneFormats(oi.country, oi.phone)
		i := slices.Index(formats, of["phone"])
		f["phone"] = formats[(i+1+g.r.IntN(plainPhoneFormats-1))%plainPhoneFormats]
	case "typo":
		// Same person typed by hand in a second import.
		if g.chance(70) {
			f["lastname"] = typo(g.r, of["lastname"])
		} else {
			f["firstname"] = typo(g.r, of["firstname"])
		}
	}
	return f, info
}

// mixedCase capitalizes each dot-separated word of an email's local part and
// the domain's first letter: "anna.berg@acme.io" -> "Anna.Berg@Acme.io".
func mixedCase(email string) string {
	local, domain, _ := strings.Cut(email, "@")
	words := strings.Split(local, ".")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, ".") + "@" + strings.ToUpper(domain[:1]) + domain[1:]
}

// typo swaps two adjacent different lower-case letters (never the first), or
// doubles the last letter when there are none.
func typo(r *rand.Rand, s string) string {
	b := []byte(s)
	var at []int
	for i := 1; i+1 < len(b); i++ {
		if b[i] >= 'a' && b[i] <= 'z' && b[i+1] >= 'a' && b[i+1] <= 'z' && b[i] != b[i+1] {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return s + s[len(s)-1:]
	}
	i := pick(r, at)
	b[i], b[i+1] = b[i+1], b[i]
	return string(b)
}
