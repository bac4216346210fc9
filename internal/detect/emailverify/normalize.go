package emailverify

import "strings"

// normEmail is the form emails are compared in: trimmed and lower case.
// (Local parts are case-sensitive in theory and never in practice; every
// CRM and enrichment vendor compares them this way.)
func normEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// validEmail reports whether a normalized email looks like one address:
// one @, a local part, and a domain with a dot. It rejects lists, display
// names and spreadsheet debris ("n/a", "#VALUE!"), not unusual addresses.
func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") {
		return false
	}
	if strings.ContainsAny(local, " \t\r\n,;<>()[]\\\"") {
		return false
	}
	return validDomain(domain)
}

// validDomain reports whether a normalized domain looks like a host name.
func validDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") || strings.Contains(s, "..") {
		return false
	}
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
		return false
	}
	return !strings.ContainsAny(s, " \t\r\n,;<>()[]\\\"@:/")
}
