package emailverify

import (
	"fmt"
	"testing"
)

// TestStatusMapping is the vendor status table: every documented value of
// every format, and what it becomes.
func TestStatusMapping(t *testing.T) {
	tests := []struct {
		format string
		cells  map[string]string
		want   string // "" = not a status we know
	}{
		// ZeroBounce: status, with sub_status deciding do_not_mail.
		{"zerobounce", map[string]string{colStatus: "valid"}, Valid},
		{"zerobounce", map[string]string{colStatus: "invalid", colSubStatus: "mailbox_not_found"}, Invalid},
		{"zerobounce", map[string]string{colStatus: "catch-all"}, CatchAll},
		{"zerobounce", map[string]string{colStatus: "unknown", colSubStatus: "greylisted"}, Unknown},
		{"zerobounce", map[string]string{colStatus: "spamtrap"}, Spamtrap},
		{"zerobounce", map[string]string{colStatus: "abuse"}, Abuse},
		{"zerobounce", map[string]string{colStatus: "do_not_mail", colSubStatus: "role_based"}, Role},
		{"zerobounce", map[string]string{colStatus: "do_not_mail", colSubStatus: "role_based_catch_all"}, Role},
		{"zerobounce", map[string]string{colStatus: "do_not_mail", colSubStatus: "disposable"}, Disposable},
		{"zerobounce", map[string]string{colStatus: "do_not_mail", colSubStatus: "toxic"}, DoNotMail},
		{"zerobounce", map[string]string{colStatus: "do_not_mail", colSubStatus: "global_suppression"}, DoNotMail},
		{"zerobounce", map[string]string{colStatus: "do_not_mail"}, DoNotMail},
		{"zerobounce", map[string]string{colStatus: "deliverable"}, ""},
		// NeverBounce: five result codes.
		{"neverbounce", map[string]string{colStatus: "valid"}, Valid},
		{"neverbounce", map[string]string{colStatus: "invalid"}, Invalid},
		{"neverbounce", map[string]string{colStatus: "disposable"}, Disposable},
		{"neverbounce", map[string]string{colStatus: "catchall"}, CatchAll},
		{"neverbounce", map[string]string{colStatus: "unknown"}, Unknown},
		{"neverbounce", map[string]string{colStatus: "role"}, ""},
		// Kickbox: result, with risky named by its flag.
		{"kickbox", map[string]string{colStatus: "deliverable"}, Valid},
		{"kickbox", map[string]string{colStatus: "deliverable", colRole: "true"}, Valid},
		{"kickbox", map[string]string{colStatus: "undeliverable"}, Invalid},
		{"kickbox", map[string]string{colStatus: "unknown"}, Unknown},
		{"kickbox", map[string]string{colStatus: "risky", colRole: "true"}, Role},
		{"kickbox", map[string]string{colStatus: "risky", colDisposable: "true"}, Disposable},
		{"kickbox", map[string]string{colStatus: "risky", colAcceptAll: "true"}, CatchAll},
		{"kickbox", map[string]string{colStatus: "risky", colRole: "true", colDisposable: "true", colAcceptAll: "true"}, Disposable},
		{"kickbox", map[string]string{colStatus: "risky", colRole: "1", colAcceptAll: "1"}, Role},
		{"kickbox", map[string]string{colStatus: "risky"}, Unknown},
		{"kickbox", map[string]string{colStatus: "valid"}, ""},
		// Generic: our own vocabulary, nothing else.
		{"generic", map[string]string{colStatus: "valid"}, Valid},
		{"generic", map[string]string{colStatus: "invalid"}, Invalid},
		{"generic", map[string]string{colStatus: "catch_all"}, CatchAll},
		{"generic", map[string]string{colStatus: "unknown"}, Unknown},
		{"generic", map[string]string{colStatus: "disposable"}, Disposable},
		{"generic", map[string]string{colStatus: "role"}, Role},
		{"generic", map[string]string{colStatus: "spamtrap"}, Spamtrap},
		{"generic", map[string]string{colStatus: "abuse"}, Abuse},
		{"generic", map[string]string{colStatus: "do_not_mail"}, DoNotMail},
		{"generic", map[string]string{colStatus: "catch-all"}, ""},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %v becomes %q", tt.format, tt.cells, tt.want)
		t.Run(name, func(t *testing.T) {
			got, _, why := Formats[tt.format].status(func(role string) string { return tt.cells[role] })
			if got != tt.want || why != "" {
				t.Errorf("got %q (%s), want %q", got, why, tt.want)
			}
		})
	}
}

func TestEveryFormatOnlyWritesOurVocabulary(t *testing.T) {
	known := map[string]bool{}
	for _, s := range Statuses {
		known[s] = true
	}
	for name, f := range Formats {
		for _, st := range []string{"valid", "invalid", "catch-all", "catchall", "catch_all", "unknown", "spamtrap", "abuse", "do_not_mail", "disposable", "role", "deliverable", "undeliverable", "risky"} {
			for _, sub := range []string{"", "role_based", "disposable", "toxic"} {
				got, _, _ := f.status(func(role string) string {
					switch role {
					case colStatus:
						return st
					case colSubStatus:
						return sub
					}
					return ""
				})
				if got != "" && !known[got] {
					t.Errorf("format %s maps %q/%q to %q, outside the vocabulary", name, st, sub, got)
				}
			}
		}
	}
}
