package dedupe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// normEmail is the mailbox an address delivers to: trimmed, lower-cased,
// and for Gmail without dots and +tags in the local part.
func normEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" {
		return s
	}
	if domain == "gmail.com" || domain == "googlemail.com" {
		if i := strings.IndexByte(local, '+'); i >= 0 {
			local = local[:i]
		}
		local = strings.ReplaceAll(local, ".", "")
		return local + "@gmail.com"
	}
	return s
}

// roleLocalParts are shared mailboxes: an address like info@acme.io says
// which company, not which person.
var roleLocalParts = map[string]bool{
	"info": true, "sales": true, "support": true, "admin": true, "hello": true,
	"contact": true, "office": true, "team": true, "marketing": true,
	"billing": true, "accounts": true, "accounting": true, "finance": true,
	"hr": true, "jobs": true, "careers": true, "help": true, "service": true,
	"enquiries": true, "inquiries": true, "noreply": true, "no-reply": true,
	"webmaster": true, "press": true, "media": true, "mail": true,
	"customerservice": true, "orders": true, "reception": true, "general": true,
}

// isRole reports whether a normalized email is a shared role address.
func isRole(email string) bool {
	local, _, ok := strings.Cut(email, "@")
	return ok && roleLocalParts[local]
}

// phoneKey is a phone number's national significant number (the digits
// without country code, trunk prefix or extension), at most its last ten
// digits, so that "+1 (415) 555-0100", "415.555.0100" and "1-415-555-0100"
// agree, as do "+44 20 7946 0958" and "020 7946 0958". Numbers with fewer
// than seven digits give "".
func phoneKey(s string) string {
	s = strings.ToLower(s)
	for _, ext := range []string{"ext", "x", "#", ";", ","} {
		if i := strings.Index(s, ext); i > 0 {
			s = s[:i]
		}
	}
	intl := strings.HasPrefix(strings.TrimSpace(s), "+")
	var d []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	if !intl && len(d) > 2 && d[0] == '0' && d[1] == '0' {
		intl, d = true, d[2:]
	}
	switch {
	case intl:
		d = d[countryCodeLen(d):]
		if len(d) > 0 && d[0] == '0' { // "+44 (0)20 ..."
			d = d[1:]
		}
	case len(d) > 0 && d[0] == '0':
		d = d[1:] // trunk prefix
	case len(d) == 11 && d[0] == '1':
		d = d[1:] // North American "1-415-..."
	}
	if len(d) < 7 {
		return ""
	}
	if len(d) > 10 {
		d = d[len(d)-10:]
	}
	return string(d)
}

// countryCodeLen is the length of the ITU country code d starts with.
func countryCodeLen(d []byte) int {
	if len(d) == 0 {
		return 0
	}
	switch d[0] {
	case '1', '7':
		return 1
	}
	if len(d) < 2 {
		return len(d)
	}
	two := string(d[:2])
	switch two {
	case "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
		"51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66",
		"81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98":
		return 2
	}
	return min(3, len(d))
}

// foldAccents maps accented Latin letters to their base letter.
var foldAccents = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i",
	'î': "i", 'ï': "i", 'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o",
	'ö': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y",
	'ÿ': "y", 'ß': "ss", 'ł': "l", 'ś': "s", 'ź': "z", 'ż': "z", 'ć': "c",
	'ń': "n", 'ą': "a", 'ę': "e", 'č': "c", 'š': "s", 'ž': "z", 'ř': "r",
	'ě': "e", 'ů': "u", 'ő': "o", 'ű': "u", 'ğ': "g", 'ı': "i", 'ş': "s",
}

// normName keeps a name's letters, lower-cased and without accents:
// "O'Brien" -> "obrien", "de Vries" -> "devries", "José" -> "jose".
func normName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c < 'a' || c > 'z' {
			ascii = false
		}
	}
	if ascii {
		return s // already lower-case letters only
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r < utf8.RuneSelf:
		case foldAccents[r] != "":
			b.WriteString(foldAccents[r])
		case unicode.IsLetter(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// freeMail domains host personal mailboxes: sharing one says nothing about
// being one company.
var freeMail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "hotmail.com": true,
	"outlook.com": true, "live.com": true, "msn.com": true, "icloud.com": true,
	"me.com": true, "aol.com": true, "proton.me": true, "protonmail.com": true,
	"gmx.de": true, "gmx.net": true, "web.de": true, "mail.com": true, "yandex.ru": true,
}

// normDomain is a website's host: "https://www.Acme.io/contact" -> "acme.io".
func normDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimPrefix(s, "www.")
	if !strings.Contains(s, ".") {
		return ""
	}
	return s
}

// legalSuffixes are the words that say what kind of company, not which.
var legalSuffixes = map[string]bool{
	"inc": true, "incorporated": true, "llc": true, "llp": true, "ltd": true,
	"limited": true, "gmbh": true, "corp": true, "corporation": true, "co": true,
	"company": true, "plc": true, "ag": true, "sa": true, "sas": true, "sarl": true,
	"bv": true, "nv": true, "oy": true, "ab": true, "as": true, "aps": true,
	"pty": true, "pte": true, "srl": true, "spa": true, "kg": true, "lp": true,
}

// normCompany is a company's name without case, punctuation and legal
// suffixes: "ACME, Inc." and "Acme" -> "acme".
func normCompany(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '&':
			b.WriteString(" and ")
		case r == '.' || r == '\'':
			// "Co." and "O'Neil": drop, keep the word whole
		case r < utf8.RuneSelf:
			b.WriteByte(' ')
		case foldAccents[r] != "":
			b.WriteString(foldAccents[r])
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	words := strings.Fields(b.String())
	for len(words) > 1 && (legalSuffixes[words[len(words)-1]] || words[len(words)-1] == "and") {
		words = words[:len(words)-1]
	}
	if len(words) > 1 && words[0] == "the" {
		words = words[1:]
	}
	return strings.Join(words, " ")
}

// normEmailValue is normEmail for an address that has a local part and a
// domain, else "" (not an email: no evidence).
func normEmailValue(s string) string {
	e := normEmail(s)
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(e, " \t") {
		return ""
	}
	return e
}

// normDomainValue is a company's web domain, or "" for a free-mail host
// (sharing gmail.com says nothing) and for what is not a domain.
func normDomainValue(s string) string {
	d := normDomain(s)
	if freeMail[d] {
		return ""
	}
	return d
}

// normExact compares case- and space-insensitively.
func normExact(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// normText is a text's words, lower case, without punctuation or accents:
// "St. Lucy's - School" -> "st lucys school".
func normText(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '&':
			b.WriteString(" and ")
		case r == '\'':
		case r < utf8.RuneSelf:
			b.WriteByte(' ')
		case foldAccents[r] != "":
			b.WriteString(foldAccents[r])
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// normPostcode keeps a postcode's letters and digits in upper case:
// "sw1a 1aa" -> "SW1A1AA".
func normPostcode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// streetWords are the spellings of the common street words, shortened the
// way the postal services do, so "Street" and "St." agree.
var streetWords = map[string]string{
	"street": "st", "str": "st", "road": "rd", "avenue": "ave", "av": "ave",
	"boulevard": "blvd", "drive": "dr", "lane": "ln", "court": "ct",
	"place": "pl", "square": "sq", "terrace": "tce", "highway": "hwy",
	"parkway": "pkwy", "circuit": "cct", "crescent": "cres", "close": "cl",
	"north": "n", "south": "s", "east": "e", "west": "w",
	"apartment": "apt", "apmnt": "apt", "suite": "ste", "floor": "fl",
	"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
}

// normAddress is an address's words with street words shortened and
// punctuation dropped: "221 E. 51st Street" -> "221 e 51st st". A number
// glued to a word ("t65") is split off, so the numbers can be compared.
func normAddress(s string) string {
	words := strings.Fields(normText(s))
	out := make([]string, 0, len(words))
	for _, w := range words {
		if short, ok := streetWords[w]; ok {
			w = short
		}
		// "t65" -> "t 65": a letter glued to a house number.
		if i := strings.IndexAny(w, "0123456789"); i > 0 && strings.Trim(w[i:], "0123456789") == "" {
			out = append(out, w[:i])
			w = w[i:]
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// normDate writes a date as YYYYMMDD where it can tell the parts apart:
// "19570422", "1957-04-22", "1957-04-22T00:00:00Z", "22/04/1957" (day
// first, as most of the world writes it; a month-first date then compares
// as "day and month swapped"). Anything else is kept as its digits.
func normDate(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "T "); i > 0 {
		s = s[:i]
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	digits := func(x string) string {
		var b strings.Builder
		for _, r := range x {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	pad := func(x string) string {
		if len(x) == 1 {
			return "0" + x
		}
		return x
	}
	if len(parts) == 3 {
		p0, p1, p2 := digits(parts[0]), digits(parts[1]), digits(parts[2])
		switch {
		case len(p0) == 4 && len(p1) <= 2 && len(p2) <= 2 && p1 != "" && p2 != "":
			return p0 + pad(p1) + pad(p2)
		case len(p2) == 4 && len(p0) <= 2 && len(p1) <= 2 && p0 != "" && p1 != "":
			return p2 + pad(p1) + pad(p0)
		}
	}
	return digits(s)
}

// soundex is the American Soundex code of a normalized name: names that
// sound alike (Smith, Smyth) share it, for blocking.
func soundex(s string) string {
	if s == "" {
		return ""
	}
	const codes = "01230120022455012623010202" // a..z
	code := func(c byte) byte {
		if c < 'a' || c > 'z' {
			return '0'
		}
		return codes[c-'a']
	}
	out := []byte{s[0]}
	last := code(s[0])
	for i := 1; i < len(s) && len(out) < 4; i++ {
		c := code(s[i])
		if c != '0' && c != last {
			out = append(out, c)
		}
		if s[i] != 'h' && s[i] != 'w' {
			last = c
		}
	}
	for len(out) < 4 {
		out = append(out, '0')
	}
	return string(out)
}
