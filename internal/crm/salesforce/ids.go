package salesforce

import "strings"

// Record Ids are 15 case-sensitive alphanumeric characters, or 18: the 15
// followed by three characters that encode which of the 15 are upper case,
// so that the Id survives case-insensitive handling. The API accepts both
// and returns the 18-character form, which is what crmops keeps.
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/field_types.htm#i1435616

const idSuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// canonicalID returns the 18-character form of a 15- or 18-character Id, or
// ok=false if s is not a well-formed Id. An 18-character Id whose letters'
// case was lost (lower-cased by a spreadsheet, say) is restored from its
// suffix, as the suffix exists for.
func canonicalID(s string) (string, bool) {
	if len(s) != 15 && len(s) != 18 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	if len(s) == 15 {
		return s + idSuffix(s), true
	}
	suffix := strings.ToUpper(s[15:])
	body := []byte(s[:15])
	for chunk := 0; chunk < 3; chunk++ {
		v := strings.IndexByte(idSuffixAlphabet, suffix[chunk])
		if v < 0 {
			return "", false
		}
		for i := 0; i < 5; i++ {
			b := &body[chunk*5+i]
			upper := v&(1<<i) != 0
			switch {
			case upper && *b >= 'a' && *b <= 'z':
				*b -= 'a' - 'A'
			case !upper && *b >= 'A' && *b <= 'Z':
				*b += 'a' - 'A'
			}
		}
	}
	if idSuffix(string(body)) != suffix {
		return "", false // a digit where the suffix says upper case
	}
	return string(body) + suffix, true
}

// idSuffix computes the three case-encoding characters of an Id: per
// 5-character chunk, a bit for each upper-case letter, as an index into
// A-Z0-5.
func idSuffix(id15 string) string {
	var b strings.Builder
	for chunk := 0; chunk < 3; chunk++ {
		v := 0
		for i := 0; i < 5; i++ {
			if c := id15[chunk*5+i]; c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		b.WriteByte(idSuffixAlphabet[v])
	}
	return b.String()
}

func isID(s string) bool {
	_, ok := canonicalID(s)
	return ok
}
