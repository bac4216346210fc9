package sample

import (
	"fmt"
	"math/rand/v2"
)

// phoneNumber is one invented number: its E.164 form (what an enrichment
// vendor returns) and the national digits the local formats are built from.
type phoneNumber struct {
	e164 string
	// parts are the national number's groups, e.g. area code and subscriber.
	parts []string
}

// newPhone invents a number in a fictional range for country (555-01xx in
// North America, Ofcom's drama range in London, and so on).
func newPhone(r *rand.Rand, country string) phoneNumber {
	d := func(n int) string {
		s := ""
		for range n {
			s += string(rune('0' + r.IntN(10)))
		}
		return s
	}
	switch country {
	case "United States", "Canada":
		areas := []string{"415", "212", "617", "312", "206", "512", "303", "646"}
		if country == "Canada" {
			areas = []string{"416", "604", "514", "403"}
		}
		a, line := pick(r, areas), "01"+d(2)
		return phoneNumber{"+1" + a + "555" + line, []string{a, "555", line}}
	case "United Kingdom":
		s := "0" + d(3)
		return phoneNumber{"+44207946" + s, []string{"20", "7946", s}}
	case "Germany":
		a, s := pick(r, []string{"30", "89", "40", "69"}), string(rune('1'+r.IntN(9)))+d(7)
		return phoneNumber{"+49" + a + s, []string{a, s}}
	case "France":
		s := d(8)
		return phoneNumber{"+331" + s, []string{"1", s[0:2], s[2:4], s[4:6], s[6:8]}}
	case "Netherlands":
		s := string(rune('1'+r.IntN(9))) + d(6)
		return phoneNumber{"+3120" + s, []string{"20", s[0:3], s[3:7]}}
	case "Australia":
		s := d(4)
		return phoneNumber{"+6125550" + s, []string{"2", "5550", s}}
	default: // Sweden
		s := string(rune('1'+r.IntN(9))) + d(7)
		return phoneNumber{"+468" + s, []string{"8", s[0:3], s[3:6], s[6:8]}}
	}
}

// phoneFormats writes p in every way people type numbers of country. The
// first plainPhoneFormats entries carry no extension.
func phoneFormats(country string, p phoneNumber) []string {
	q := p.parts
	g := func(k int) string {
		if k < len(q) {
			return q[k]
		}
		return ""
	}
	var all []string
	switch country {
	case "United States", "Canada":
		a, x, l := g(0), g(1), g(2)
		all = []string{
			fmt.Sprintf("(%s) %s-%s", a, x, l),
			fmt.Sprintf("%s-%s-%s", a, x, l),
			fmt.Sprintf("%s.%s.%s", a, x, l),
			fmt.Sprintf("+1 %s %s %s", a, x, l),
			fmt.Sprintf("+1%s%s%s", a, x, l),
			fmt.Sprintf("1-%s-%s-%s", a, x, l),
			fmt.Sprintf("+1 (%s) %s-%s", a, x, l),
			fmt.Sprintf("%s-%s-%s ext. 2%s", a, x, l, l[len(l)-1:]),
		}
	case "United Kingdom":
		a, b, c := g(0), g(1), g(2)
		all = []string{
			fmt.Sprintf("0%s %s %s", a, b, c),
			fmt.Sprintf("+44 %s %s %s", a, b, c),
			fmt.Sprintf("+44%s%s%s", a, b, c),
			fmt.Sprintf("(0%s) %s %s", a, b, c),
			fmt.Sprintf("+44 (0)%s %s %s", a, b, c),
		}
	case "Germany":
		a, s := g(0), g(1)
		h := len(s) / 2
		all = []string{
			fmt.Sprintf("0%s %s", a, s),
			fmt.Sprintf("+49 %s %s", a, s),
			fmt.Sprintf("+49 (0)%s %s-%s", a, s[:h], s[h:]),
			fmt.Sprintf("0049 %s %s", a, s),
			fmt.Sprintf("0%s/%s", a, s),
		}
	case "France":
		all = []string{
			fmt.Sprintf("0%s %s %s %s %s", g(0), g(1), g(2), g(3), g(4)),
			fmt.Sprintf("+33 %s %s %s %s %s", g(0), g(1), g(2), g(3), g(4)),
			fmt.Sprintf("+33%s%s%s%s%s", g(0), g(1), g(2), g(3), g(4)),
			fmt.Sprintf("0%s.%s.%s.%s.%s", g(0), g(1), g(2), g(3), g(4)),
		}
	case "Netherlands":
		all = []string{
			fmt.Sprintf("0%s-%s%s", g(0), g(1), g(2)),
			fmt.Sprintf("+31 %s %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("+31%s%s%s", g(0), g(1), g(2)),
			fmt.Sprintf("0%s %s %s", g(0), g(1), g(2)),
		}
	case "Australia":
		all = []string{
			fmt.Sprintf("(0%s) %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("+61 %s %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("0%s %s %s", g(0), g(1), g(2)),
		}
	default: // Sweden
		all = []string{
			fmt.Sprintf("0%s-%s %s %s", g(0), g(1), g(2), g(3)),
			fmt.Sprintf("+46 %s %s %s %s", g(0), g(1), g(2), g(3)),
			fmt.Sprintf("+46%s%s%s%s", g(0), g(1), g(2), g(3)),
		}
	}
	return all
}

// plainPhoneFormats is the number of leading formats of every country that
// carry no extension, for records that must match digit for digit.
const plainPhoneFormats = 3
