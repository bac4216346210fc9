package dedupe

import (
	"fmt"
	"strings"

	"github.com/crmops/crmops/internal/crm"
)

// Block kinds of companies.
const (
	keyDomain uint8 = iota + 1
	keyCompanyName
)

// companyFields are what dedupe reads of a company; all of them count for
// the survivor rule's "most non-empty fields".
var companyFields = []string{"name", "domain", "country", "created", "industry", "employees", "owner"}

type company struct {
	id        string
	name      string // normCompany
	rawName   string
	domain    string // normDomain
	rawDomain string
	created   string
	country   uint32 // in countries, lower case
	filled    uint8
}

type companyTable struct {
	recs      []company
	countries *interner // lower case, for comparing
	// countryNames holds each country as first seen, for reasons.
	countryNames []string
}

func newCompanyTable() *companyTable {
	return &companyTable{countries: newInterner(), countryNames: []string{""}}
}

func (t *companyTable) object() string       { return "companies" }
func (t *companyTable) fields() []string     { return companyFields }
func (t *companyTable) len() int             { return len(t.recs) }
func (t *companyTable) id(i int) string      { return t.recs[i].id }
func (t *companyTable) filled(i int) int     { return int(t.recs[i].filled) }
func (t *companyTable) created(i int) string { return t.recs[i].created }

func (t *companyTable) add(r crm.Record) {
	f := r.Fields
	c := company{id: r.ID, rawName: strings.TrimSpace(f["name"]), rawDomain: strings.TrimSpace(f["domain"]), created: f["created"]}
	for _, k := range companyFields {
		if strings.TrimSpace(f[k]) != "" {
			c.filled++
		}
	}
	c.name = normCompany(c.rawName)
	c.domain = normDomain(c.rawDomain)
	country := strings.TrimSpace(f["country"])
	c.country = t.countries.id(strings.ToLower(country))
	if int(c.country) == len(t.countryNames) {
		t.countryNames = append(t.countryNames, country)
	}
	t.recs = append(t.recs, c)
}

func (t *companyTable) keys(i int, emit func(kind uint8, h uint64)) {
	c := &t.recs[i]
	if c.domain != "" && !freeMail[c.domain] {
		emit(keyDomain, hashStrings(c.domain))
	}
	if c.name != "" {
		emit(keyCompanyName, hashStrings(c.name))
	}
}

func (t *companyTable) subKey(i int, kind uint8) uint64 {
	c := &t.recs[i]
	if kind == keyDomain {
		if c.name == "" {
			return 0
		}
		return hashStrings(c.name)
	}
	if c.country == 0 {
		return 0
	}
	return hashStrings(t.countries.str(c.country))
}

func (t *companyTable) describe(i int, kind uint8) string {
	if kind == keyDomain {
		return "domain " + t.recs[i].domain
	}
	return "name " + t.recs[i].name
}

// score is the confidence that two companies are one. The evidence:
//
//   - The same domain: 0.99 with equal names (after dropping case,
//     punctuation and legal suffixes), 0.93 with similar names
//     (Jaro-Winkler >= 0.9), 0.90 when a side has no name, 0.70 otherwise
//     (a subsidiary or a shared host: review at a lower min_confidence).
//   - The same name without a shared domain: 0.30 when both have domains
//     and they differ (namesakes), 0.40 in different countries; with a
//     domain missing, 0.86 in the same country, 0.78 when a country is
//     unknown.
func (t *companyTable) score(i, j int, why bool) (float64, string) {
	a, b := &t.recs[i], &t.recs[j]
	domainEq := a.domain != "" && a.domain == b.domain
	nameEq := a.name != "" && a.name == b.name
	sim := jaroWinkler(a.name, b.name)
	country := 0
	switch {
	case a.country == 0 || b.country == 0:
	case a.country == b.country:
		country = 1
	default:
		country = -1
	}
	var conf float64
	switch {
	case domainEq && nameEq:
		conf = 0.99
	case domainEq && sim >= 0.9:
		conf = 0.93
	case domainEq && (a.name == "" || b.name == ""):
		conf = 0.90
	case domainEq:
		conf = 0.70
	case nameEq && a.domain != "" && b.domain != "":
		conf = 0.30
	case nameEq && country < 0:
		conf = 0.40
	case nameEq && country > 0:
		conf = 0.86
	case nameEq:
		conf = 0.78
	}
	if domainEq && country < 0 {
		conf -= 0.1
	}
	if !why {
		return conf, ""
	}
	var parts []string
	switch {
	case domainEq && a.rawDomain == b.rawDomain:
		parts = append(parts, "same domain "+a.domain)
	case domainEq:
		parts = append(parts, fmt.Sprintf("same domain %s (%s / %s)", a.domain, a.rawDomain, b.rawDomain))
	case a.domain != "" && b.domain != "":
		parts = append(parts, fmt.Sprintf("different domains %s / %s", a.domain, b.domain))
	default:
		parts = append(parts, "domain missing on one")
	}
	label := "similar"
	if nameEq {
		label = "equal without case, punctuation and legal suffix"
	} else if sim < 0.9 {
		label = "different"
	}
	parts = append(parts, fmt.Sprintf("names %s / %s (%s, %.2f)", a.rawName, b.rawName, label, sim))
	switch country {
	case 1:
		parts = append(parts, "same country "+t.countryNames[a.country])
	case -1:
		parts = append(parts, fmt.Sprintf("different countries %s / %s", t.countryNames[a.country], t.countryNames[b.country]))
	}
	return conf, strings.Join(parts, "; ")
}

func (t *companyTable) namesAgree(i, j int) bool {
	a, b := &t.recs[i], &t.recs[j]
	return a.name == "" || b.name == "" || a.name == b.name || jaroWinkler(a.name, b.name) >= 0.85
}

// compatible reports whether members i and j, both merged into survivor s,
// can be one company: their names agree, or both agree with the survivor's.
func (t *companyTable) compatible(s, i, j int) bool {
	return t.namesAgree(i, j) || t.namesAgree(s, i) && t.namesAgree(s, j)
}
