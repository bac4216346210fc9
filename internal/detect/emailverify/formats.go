package emailverify

import (
	"fmt"
	"strings"
)

// The statuses this detector writes: one vocabulary whatever the vendor, so
// that a policy rule (`after: [valid]`) and a CRM list filter mean the same
// thing for every file.
const (
	Valid      = "valid"       // the mailbox exists and accepts mail
	Invalid    = "invalid"     // the address cannot receive mail
	CatchAll   = "catch_all"   // the domain accepts every address; this one is unconfirmed
	Unknown    = "unknown"     // the vendor could not tell (timeouts, greylisting, risky without a reason)
	Disposable = "disposable"  // a throwaway address
	Role       = "role"        // a role address (info@, sales@), not a person
	Spamtrap   = "spamtrap"    // a trap; mailing it damages the sender's reputation
	Abuse      = "abuse"       // the owner is known to report mail as spam
	DoNotMail  = "do_not_mail" // the vendor says not to mail it for another reason (toxic, suppressed, ...)
)

// Statuses lists the vocabulary, in the order a generic file documents it.
var Statuses = []string{Valid, Invalid, CatchAll, Unknown, Disposable, Role, Spamtrap, Abuse, DoNotMail}

// Column roles a format reads. Settings' columns key overrides the header
// name of any of them.
const (
	colEmail      = "email"
	colStatus     = "status"
	colSubStatus  = "sub_status"
	colRole       = "role"
	colDisposable = "disposable"
	colAcceptAll  = "accept_all"
)

// format is one vendor's results file: the header names of the columns it
// reads (required ones first) and how its values map to our statuses.
type format struct {
	name     string
	required map[string]string // column role -> header name
	optional map[string]string
	// status maps one row to our vocabulary. cell returns the trimmed,
	// lower-cased value of a column role ("" when absent). vendor is what
	// the file said, for the reason; why is set when the row cannot be used.
	status func(cell func(role string) string) (status, vendor, why string)
}

// Formats knows every vendor this detector reads, by the name settings use.
var Formats = map[string]*format{
	"zerobounce":  zeroBounce,
	"neverbounce": neverBounce,
	"kickbox":     kickbox,
	"generic":     generic,
}

// ZeroBounce bulk results. Statuses and sub-statuses are documented at
// https://www.zerobounce.net/docs/email-list-validation/status-codes
// (valid, invalid, catch-all, unknown, spamtrap, abuse, do_not_mail; role
// and disposable addresses are do_not_mail with sub_status role_based or
// disposable, see also the _donotmail.csv file described at
// https://www.zerobounce.net/docs/email-list-validation/downloading-results).
// The column headers "ZB Status" and "ZB Sub Status" are not spelled out on
// those pages; they are the headers in the results files ZeroBounce's own
// SDKs parse in their tests (zerobounce python and PHP SDKs, getfile). The
// email column keeps the name it had in the uploaded file; "Email Address"
// is what files sent through the API get. Override with columns.
var zeroBounce = &format{
	name:     "zerobounce",
	required: map[string]string{colEmail: "Email Address", colStatus: "ZB Status"},
	optional: map[string]string{colSubStatus: "ZB Sub Status"},
	status: func(cell func(string) string) (string, string, string) {
		st, sub := cell(colStatus), cell(colSubStatus)
		vendor := st
		if sub != "" {
			vendor += "/" + sub
		}
		switch st {
		case "valid":
			return Valid, vendor, ""
		case "invalid":
			return Invalid, vendor, ""
		case "catch-all", "catch_all":
			return CatchAll, vendor, ""
		case "unknown":
			return Unknown, vendor, ""
		case "spamtrap":
			return Spamtrap, vendor, ""
		case "abuse":
			return Abuse, vendor, ""
		case "do_not_mail":
			switch sub {
			case "role_based", "role_based_catch_all", "role_based_accept_all":
				return Role, vendor, ""
			case "disposable":
				return Disposable, vendor, ""
			}
			return DoNotMail, vendor, ""
		}
		return "", vendor, ""
	},
}

// NeverBounce bulk results. Result codes (valid, invalid, disposable,
// catchall, unknown) are documented at
// https://developers.neverbounce.com/reference/jobs-download (the five
// result codes a download segments by) and explained at
// https://www.neverbounce.com/blog/how-to-understand-never-bounce-email-verification-results.
// NOT CONFIRMED: the header of the result column. The download appends it
// when asked with email_status=1 (documented on the jobs-download page) and
// we assume the header is that name; the email column keeps its uploaded
// name, assumed "email". Override with columns if your file differs.
var neverBounce = &format{
	name:     "neverbounce",
	required: map[string]string{colEmail: "email", colStatus: "email_status"},
	status: func(cell func(string) string) (string, string, string) {
		st := cell(colStatus)
		switch st {
		case "valid":
			return Valid, st, ""
		case "invalid":
			return Invalid, st, ""
		case "disposable":
			return Disposable, st, ""
		case "catchall", "catch-all", "accept_all":
			return CatchAll, st, ""
		case "unknown":
			return Unknown, st, ""
		}
		return "", st, ""
	},
}

// Kickbox results. The values (result: deliverable, undeliverable, risky,
// unknown; flags role, disposable, accept_all) are documented at
// https://docs.kickbox.com/reference/verify-an-email-address; batch jobs
// (https://docs.kickbox.com/docs/batch-verification-api) report the same
// fields. NOT CONFIRMED: the CSV headers of a batch download; we assume
// they are the API's field names (email, result, role, disposable,
// accept_all). Override with columns if your file differs.
//
// A risky address is named by its flag (disposable first, then role, then
// accept_all); risky with no flag (Kickbox's low_quality or
// low_deliverability reasons) has no closer word in our vocabulary than
// unknown.
var kickbox = &format{
	name:     "kickbox",
	required: map[string]string{colEmail: "email", colStatus: "result"},
	optional: map[string]string{colRole: "role", colDisposable: "disposable", colAcceptAll: "accept_all"},
	status: func(cell func(string) string) (string, string, string) {
		st := cell(colStatus)
		switch st {
		case "deliverable":
			return Valid, st, ""
		case "undeliverable":
			return Invalid, st, ""
		case "unknown":
			return Unknown, st, ""
		case "risky":
		default:
			return "", st, ""
		}
		var flags []string
		for _, f := range []string{colDisposable, colRole, colAcceptAll} {
			on, ok := parseFlag(cell(f))
			if !ok {
				return "", st, fmt.Sprintf("column %s holds %q, not true or false", f, cell(f))
			}
			if on {
				flags = append(flags, f)
			}
		}
		if len(flags) == 0 {
			return Unknown, st + " (no role, disposable or accept_all flag)", ""
		}
		vendor := st + " (" + strings.Join(flags, ", ") + ")"
		switch flags[0] {
		case colDisposable:
			return Disposable, vendor, ""
		case colRole:
			return Role, vendor, ""
		}
		return CatchAll, vendor, ""
	},
}

// generic is any file with an email and a status column in our own
// vocabulary (see Statuses).
var generic = &format{
	name:     "generic",
	required: map[string]string{colEmail: "email", colStatus: "status"},
	status: func(cell func(string) string) (string, string, string) {
		st := cell(colStatus)
		for _, s := range Statuses {
			if st == s {
				return s, st, ""
			}
		}
		return "", st, ""
	},
}

// parseFlag reads a true/false cell; empty is false.
func parseFlag(s string) (on, ok bool) {
	switch s {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0", "":
		return false, true
	}
	return false, false
}
