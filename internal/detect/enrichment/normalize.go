package enrichment

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

// normDomain reduces what people paste as a company's domain to the bare
// host: lower case, no scheme, no "www.", no path, port or trailing dot.
// "https://www.Acme.com/about" becomes "acme.com".
func normDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if host, port, ok := strings.Cut(s, ":"); ok && port != "" && strings.Trim(port, "0123456789") == "" {
		s = host
	}
	s = strings.TrimSuffix(s, ".")
	return strings.TrimPrefix(s, "www.")
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

// emailDomain is the domain part of an email, "" if it has none.
func emailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return email[i+1:]
}

// freeMail lists mailbox providers whose domain says nothing about the
// company a person works for: matching contacts by such a domain would
// write one company's data onto strangers.
var freeMail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "ymail.com": true,
	"hotmail.com": true, "outlook.com": true, "live.com": true, "msn.com": true,
	"icloud.com": true, "me.com": true, "mac.com": true, "aol.com": true,
	"gmx.com": true, "gmx.de": true, "gmx.net": true, "web.de": true,
	"proton.me": true, "protonmail.com": true, "yandex.ru": true, "mail.ru": true,
	"qq.com": true, "163.com": true, "126.com": true, "zoho.com": true,
}
