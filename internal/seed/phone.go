package seed

import (
	"fmt"
	"math/rand/v2"
)

// phone is one invented number: the groups of its national number (trunk
// prefix excluded), from which every format people type is built.
type phone struct {
	country string
	parts   []string
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// newPhone invents a number for country, from a space large enough that
// unrelated people rarely share one by chance.
func newPhone(r *rand.Rand, country string) phone {
	switch country {
	case "United States", "Canada":
		areas := []string{"415", "212", "617", "312", "206", "512", "303", "646", "213", "310", "408", "650", "702", "305", "404", "720", "919", "971", "503", "202"}
		if country == "Canada" {
			areas = []string{"416", "604", "514", "403", "613", "780"}
		}
		ex := fmt.Sprintf("%d%s", 2+r.IntN(8), digits(r, 2))
		return phone{country, []string{pick(r, areas), ex, digits(r, 4)}}
	case "United Kingdom":
		return phone{country, []string{"20", fmt.Sprintf("%d%s", 7+r.IntN(2), digits(r, 3)), digits(r, 4)}}
	case "Germany":
		return phone{country, []string{pick(r, []string{"30", "89", "40", "69", "221", "211"}), fmt.Sprintf("%d%s", 1+r.IntN(9), digits(r, 6))}}
	case "France":
		s := digits(r, 8)
		return phone{country, []string{fmt.Sprint(1 + r.IntN(5)), s[0:2], s[2:4], s[4:6], s[6:8]}}
	case "Netherlands":
		s := fmt.Sprintf("%d%s", 1+r.IntN(9), digits(r, 6))
		return phone{country, []string{"20", s[0:3], s[3:7]}}
	case "Australia":
		s := digits(r, 8)
		return phone{country, []string{"2", s[0:4], s[4:8]}}
	default: // Sweden
		s := fmt.Sprintf("%d%s", 1+r.IntN(9), digits(r, 7))
		return phone{country, []string{"8", s[0:3], s[3:6], s[6:8]}}
	}
}

// plainFormats is how many leading entries of formats carry no extension.
const plainFormats = 4

// formats writes p in the ways people type numbers of its country. The
// first plainFormats entries are plain; later ones may carry an extension.
func (p phone) formats() []string {
	q := p.parts
	g := func(k int) string {
		if k < len(q) {
			return q[k]
		}
		return ""
	}
	switch p.country {
	case "United States", "Canada":
		a, x, l := g(0), g(1), g(2)
		return []string{
			fmt.Sprintf("(%s) %s-%s", a, x, l),
			fmt.Sprintf("%s.%s.%s", a, x, l),
			fmt.Sprintf("+1 (%s) %s-%s", a, x, l),
			fmt.Sprintf("%s%s%s", a, x, l),
			fmt.Sprintf("%s-%s-%s", a, x, l),
			fmt.Sprintf("+1 %s %s %s", a, x, l),
			fmt.Sprintf("+1%s%s%s", a, x, l),
			fmt.Sprintf("1-%s-%s-%s", a, x, l),
			fmt.Sprintf("%s-%s-%s ext. 2%s", a, x, l, l[len(l)-1:]),
		}
	case "United Kingdom":
		a, b, c := g(0), g(1), g(2)
		return []string{
			fmt.Sprintf("+44 %s %s %s", a, b, c),
			fmt.Sprintf("0%s %s %s", a, b, c),
			fmt.Sprintf("+44%s%s%s", a, b, c),
			fmt.Sprintf("+44 (0)%s %s %s", a, b, c),
			fmt.Sprintf("(0%s) %s %s", a, b, c),
		}
	case "Germany":
		a, s := g(0), g(1)
		h := len(s) / 2
		return []string{
			fmt.Sprintf("+49 %s %s", a, s),
			fmt.Sprintf("0%s %s", a, s),
			fmt.Sprintf("+49 (0)%s %s-%s", a, s[:h], s[h:]),
			fmt.Sprintf("0049 %s %s", a, s),
			fmt.Sprintf("0%s/%s", a, s),
		}
	case "France":
		return []string{
			fmt.Sprintf("+33 %s %s %s %s %s", g(0), g(1), g(2), g(3), g(4)),
			fmt.Sprintf("0%s %s %s %s %s", g(0), g(1), g(2), g(3), g(4)),
			fmt.Sprintf("+33%s%s%s%s%s", g(0), g(1), g(2), g(3), g(4)),
			fmt.Sprintf("0%s.%s.%s.%s.%s", g(0), g(1), g(2), g(3), g(4)),
		}
	case "Netherlands":
		return []string{
			fmt.Sprintf("+31 %s %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("0%s-%s%s", g(0), g(1), g(2)),
			fmt.Sprintf("+31%s%s%s", g(0), g(1), g(2)),
			fmt.Sprintf("0%s %s %s", g(0), g(1), g(2)),
		}
	case "Australia":
		return []string{
			fmt.Sprintf("+61 %s %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("(0%s) %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("0%s %s %s", g(0), g(1), g(2)),
			fmt.Sprintf("+61%s%s%s", g(0), g(1), g(2)),
		}
	default: // Sweden
		return []string{
			fmt.Sprintf("+46 %s %s %s %s", g(0), g(1), g(2), g(3)),
			fmt.Sprintf("0%s-%s %s %s", g(0), g(1), g(2), g(3)),
			fmt.Sprintf("+46%s%s%s%s", g(0), g(1), g(2), g(3)),
			fmt.Sprintf("0%s%s%s%s", g(0), g(1), g(2), g(3)),
		}
	}
}

// format picks one way of writing p.
func (p phone) format(r *rand.Rand) string { return pick(r, p.formats()) }

// reformat writes p in a plain format other than the one in old, so that a
// duplicate's phone matches only after normalization.
func (p phone) reformat(r *rand.Rand, old string) string {
	f := p.formats()
	for range 8 {
		s := f[r.IntN(plainFormats)]
		if s != old {
			return s
		}
	}
	return f[0]
}
