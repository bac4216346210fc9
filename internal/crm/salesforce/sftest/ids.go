package sftest

import (
	"strings"
)

// Record IDs follow Salesforce's documented shape: 15 case-sensitive
// alphanumeric characters whose first three are the object's key prefix,
// or 18 characters where the last three encode the case of the first 15
// so the ID survives case-insensitive handling. The API accepts either
// form and returns the 18-character one.
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/field_types.htm#i1435616
// Key prefixes (001 Account, 003 Contact, 00Q Lead, ...):
// https://help.salesforce.com/s/articleView?id=000385203&type=1

// base62 digits in ASCII order, so that IDs generated from an increasing
// counter sort (byte-wise) in creation order, as ORDER BY Id does.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idPod is the two characters after the key prefix (the instance/pod in real
// IDs) followed by the reserved character.
const idPod = "Dn0"

// makeID returns the 18-character ID for a key prefix and a counter.
func makeID(prefix string, n int64) string {
	digits := make([]byte, 9)
	for i := 8; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	id15 := prefix + idPod + string(digits)
	return id15 + idSuffix(id15)
}

// idSuffix computes the three checksum characters of an 18-character ID:
// for each 5-character chunk, a bit per uppercase letter, read as an index
// into A-Z0-5.
func idSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var b strings.Builder
	for chunk := 0; chunk < 3; chunk++ {
		v := 0
		for i := 0; i < 5; i++ {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		b.WriteByte(alphabet[v])
	}
	return b.String()
}

// normalizeID returns the 18-character form of a 15- or 18-character ID,
// or ok=false if s is not a well-formed ID (wrong length, a character that
// is not alphanumeric, or an 18-character ID whose suffix does not match).
func normalizeID(s string) (string, bool) {
	if len(s) != 15 && len(s) != 18 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	id15 := s[:15]
	suffix := idSuffix(id15)
	if len(s) == 18 && !strings.EqualFold(s[15:], suffix) {
		return "", false
	}
	return id15 + suffix, true
}
