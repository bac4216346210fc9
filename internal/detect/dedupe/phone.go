package dedupe

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phones are compared as "cc|nsn": the country calling code ("" when it
// cannot be known) and the national significant number, the digits without
// country code, trunk prefix or extension. "+1 (415) 555-0100" and
// "415.555.0100" on a US record are both "1|4155550100"; "+44 20 7946 0958"
// and "020 7946 0958" on a record without a country are "44|2079460958" and
// "|2079460958", which agree: a missing country is no evidence either way.
//
// Numbers written with a + (or 00) and numbers on a record whose country
// is known are parsed by libphonenumber (github.com/nyaruka/phonenumbers).
// Numbers in national form on a record without a country are read by
// phoneKey: parsing them with a guessed region would invent a country code,
// and libphonenumber is slow enough (about 9 µs a number) that a million
// contacts should not pay for it when it cannot help.

// phoneRegion is the ISO 3166 region of a country field: a two-letter code
// as it is, or one of the common country names; "" when unknown.
func phoneRegion(country string) string {
	c := strings.ToLower(strings.TrimSpace(country))
	if c == "" {
		return ""
	}
	if len(c) == 2 && c[0] >= 'a' && c[0] <= 'z' && c[1] >= 'a' && c[1] <= 'z' {
		r := strings.ToUpper(c)
		if r == "UK" {
			r = "GB"
		}
		if phonenumbers.GetCountryCodeForRegion(r) != 0 {
			return r
		}
		return ""
	}
	return countryRegions[normText(c)]
}

// countryRegions maps country names, as CRMs store them, to regions.
var countryRegions = map[string]string{
	"united states": "US", "united states of america": "US", "usa": "US", "us": "US", "america": "US",
	"united kingdom": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "uk": "GB",
	"germany": "DE", "deutschland": "DE", "france": "FR", "canada": "CA", "netherlands": "NL",
	"the netherlands": "NL", "holland": "NL", "australia": "AU", "sweden": "SE", "norway": "NO",
	"denmark": "DK", "finland": "FI", "spain": "ES", "italy": "IT", "portugal": "PT", "ireland": "IE",
	"belgium": "BE", "switzerland": "CH", "austria": "AT", "poland": "PL", "japan": "JP", "china": "CN",
	"india": "IN", "brazil": "BR", "mexico": "MX", "new zealand": "NZ", "singapore": "SG",
	"south africa": "ZA", "israel": "IL", "czech republic": "CZ", "czechia": "CZ",
}

// normPhone is a phone's "cc|nsn", or "" when it has fewer than seven
// digits. region is the record's ("" when unknown).
func normPhone(raw, region string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	intl := strings.HasPrefix(s, "+") || strings.HasPrefix(s, "00")
	if intl || region != "" {
		if n, err := phonenumbers.Parse(s, region); err == nil {
			nsn := phonenumbers.GetNationalSignificantNumber(n)
			if len(nsn) >= 7 {
				return itoa(int(n.GetCountryCode())) + "|" + nsn
			}
		}
	}
	if k := phoneKey(s); k != "" {
		return "|" + k
	}
	return ""
}

// normPhoneLoose is normPhone without a region, for values compared
// outside a record (tests).
func normPhoneLoose(s string) string { return normPhone(s, "") }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// phoneNational is the national number of a "cc|nsn" phone.
func phoneNational(p string) string {
	_, n, _ := strings.Cut(p, "|")
	return n
}
