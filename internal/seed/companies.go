package seed

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
)

// company is a base company. It is a pure function of the seed and its
// index, so contacts can look up their employer's domain without the
// generator keeping every company in memory.
type company struct {
	name, domain, country, industry string
	tld                             string
	phone                           phone // the switchboard
	pattern                         int   // how the company spells its emails
}

var companyNames = len(companyPrefixes) * len(companyStems) * len(sectors)

// Words that make a company name unique once the prefix, stem and sector
// combinations are used up.
var nameRounds = []string{"", "Group", "Partners", "International", "Holdings", "Global", "Solutions", "Collective", "Ventures", "Studio"}

// baseName is the name of base company j, and its sector. Names are a
// permutation of all combinations, so they never repeat by accident.
func baseName(j int) (name string, sector int) {
	idx := (7919*j + 1237) % companyNames
	round := j / companyNames
	p := idx / (len(companyStems) * len(sectors))
	st := idx / len(sectors) % len(companyStems)
	sector = idx % len(sectors)
	name = companyPrefixes[p] + companyStems[st] + " " + sectors[sector].word
	if round > 0 {
		if round < len(nameRounds) {
			name += " " + nameRounds[round]
		} else {
			name += " " + strconv.Itoa(round+1)
		}
	}
	return name, sector
}

// namesake reports whether base company j takes the name of company j-1
// (in another country, with its own domain): a hard negative.
func namesake(j int) bool { return j%97 == 13 }

func (g *gen) company(j int) company {
	r := rand.New(rand.NewPCG(g.seed^0x9e3779b97f4a7c15, uint64(j)))
	name, sector := baseName(j)
	cw := make([]int, len(countries))
	for i, c := range countries {
		cw[i] = c.weight
	}
	ci := weighted(r, cw)
	tld := pick(r, countries[ci].tlds)
	if namesake(j) {
		prev := g.company(j - 1)
		name, sector = baseName(j - 1)
		for countries[ci].name == prev.country || countries[ci].tlds[0] == prev.tld {
			ci = (ci + 1) % len(countries)
		}
		tld = countries[ci].tlds[0]
	}
	c := company{
		name:     name,
		domain:   lettersLower(name) + tld,
		country:  countries[ci].name,
		industry: sectors[sector].industry,
		tld:      tld,
		pattern:  weighted(r, []int{55, 15, 20, 10}),
	}
	c.phone = newPhone(r, c.country)
	return c
}

// companies writes the companies: base companies in index order, with
// planted duplicates (the same domain spelled differently, or none, and a
// name with another legal suffix or case) scheduled after their originals.
func (g *gen) companies(ctx context.Context, r *rand.Rand) error {
	s := newStream(g, ObjectCompanies, g.opts.Companies)
	p := plantRate(g.opts.DuplicateRate)
	j := 0
	err := s.run(ctx, CompanyID, func(id string) map[string]string {
		base := g.company(j)
		g.coID[j] = int32(s.pos + 1)
		if namesake(j) {
			ref := g.newGroup(ObjectCompanies, "namesake", true, CompanyID(int(g.coID[j-1])-1))
			g.join(ref, id)
		}
		j++
		f := map[string]string{
			"name":      base.name,
			"domain":    base.domain,
			"industry":  base.industry,
			"employees": strconv.Itoa(employees(r)),
			"country":   base.country,
			"owner":     g.owner(r),
		}
		if chance(r, 0.1) {
			f["name"] += pick(r, legalSuffixes[:5])
		}
		if chance(r, 0.05) {
			f["domain"] = "www." + f["domain"]
		}
		if chance(r, 0.08) {
			f["industry"] = ""
		}
		if chance(r, 0.1) {
			f["employees"] = ""
		}
		if chance(r, p) && s.room(2) {
			ref := g.newGroup(ObjectCompanies, "", false, id)
			copies := 1
			if chance(r, 0.2) {
				copies = 2
			}
			for range copies {
				kind := "domain"
				if chance(r, 0.25) {
					kind = "name"
				}
				if g.truth.Groups[ref.idx].Kind == "" {
					g.truth.Groups[ref.idx].Kind = kind
				}
				s.schedule(r, ref, func() map[string]string { return companyCopy(r, kind, base, f) })
			}
		}
		return f
	})
	g.nBaseCo = j
	return err
}

// companyCopy is a planted duplicate of the company with fields of: its name
// in another spelling and either the domain in another spelling (kind
// "domain") or no domain at all (kind "name").
func companyCopy(r *rand.Rand, kind string, base company, of map[string]string) map[string]string {
	f := map[string]string{
		"name":      nameVariant(r, base.name, of["name"]),
		"domain":    "",
		"industry":  "",
		"employees": "",
		"country":   base.country,
		"owner":     "",
	}
	if kind == "domain" {
		f["domain"] = domainVariant(r, base.domain)
	}
	if chance(r, 0.5) {
		f["industry"] = base.industry
	}
	if chance(r, 0.5) {
		f["employees"] = strconv.Itoa(employees(r))
	}
	if chance(r, 0.7) {
		f["owner"] = pick(r, []string{"o-01", "o-02", "o-04", "o-06", "o-07", "o-08"})
	}
	return f
}

// nameVariant spells a company's name differently from old: another legal
// suffix, capitals, or none.
func nameVariant(r *rand.Rand, name, old string) string {
	for range 8 {
		var v string
		switch r.IntN(4) {
		case 0:
			v = name + pick(r, legalSuffixes)
		case 1:
			v = strings.ToUpper(name + pick(r, legalSuffixes))
		case 2:
			v = name
		default:
			v = strings.ToUpper(name[:1]) + strings.ToLower(name[1:]) + pick(r, legalSuffixes)
		}
		if v != old {
			return v
		}
	}
	return name + ", Inc."
}

// domainVariant writes a domain as people paste it: with a scheme, www.,
// capitals or a path.
func domainVariant(r *rand.Rand, d string) string {
	switch r.IntN(6) {
	case 0:
		return "https://www." + d
	case 1:
		return "http://" + d + "/"
	case 2:
		return "www." + d
	case 3:
		return strings.ToUpper(d[:1]) + d[1:]
	case 4:
		return "https://" + d + "/contact"
	default:
		return "WWW." + strings.ToUpper(d)
	}
}

// employees draws a head count between 5 and about 1,400, small ones likelier.
func employees(r *rand.Rand) int {
	n := 5.0
	for range 3 {
		n *= 1 + r.Float64()*5.5
	}
	return int(n)
}
