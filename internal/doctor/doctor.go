// Package doctor checks a change-request repository end to end, one check
// per thing that must work for crmops to run: the configuration (detectors
// included), the remote and its base branch, the policy and its tests, the
// forge, the CRM, the detectors' input files, the GitHub workflows and the
// agents. Each check is a function taking what it needs through small
// interfaces, so each is testable without the others; crmops doctor runs
// them in order and prints one line per check.
//
// No check prints a secret: credentials are reported by the name of the
// variable holding them, and Scrub removes any value that still reaches a
// detail (in a CRM's error message, say).
package doctor

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/crmops/crmops/internal/display"
)

// The checks, by name, in the order crmops doctor runs them.
const (
	NameConfig     = "configuration"
	NameRemote     = "remote"
	NamePolicy     = "policy"
	NameForge      = "forge"
	NameCRM        = "crm"
	NameInputs     = "detector inputs"
	NameWorkflows  = "workflows"
	NameAgents     = "agents"
	nameWidthLimit = 15 // the longest name, for aligned output
)

// Check is the outcome of one check: OK, or not and why. Detail says what
// was checked when it passed and what is wrong when it failed, on one line.
// A check that could not run because an earlier one failed is Skipped (and
// not OK); it does not count as a failure of its own.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail"`
	Skipped bool   `json:"skipped,omitempty"`
}

// Pass is a check that passed.
func Pass(name, format string, args ...any) Check {
	return Check{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)}
}

// Fail is a check that failed.
func Fail(name, format string, args ...any) Check {
	return Check{Name: name, Detail: fmt.Sprintf(format, args...)}
}

// Skip is a check that could not run.
func Skip(name, why string) Check { return Check{Name: name, Skipped: true, Detail: "skipped: " + why} }

// Failed counts the checks that failed (skipped ones do not count).
func Failed(checks []Check) int {
	n := 0
	for _, c := range checks {
		if !c.OK && !c.Skipped {
			n++
		}
	}
	return n
}

// Scrub replaces every secret that appears in a check's detail with ***.
// Secrets shorter than four characters are left alone: they would blank
// out ordinary words, and no real token is that short.
func Scrub(checks []Check, secrets ...string) {
	for i := range checks {
		for _, s := range secrets {
			if len(s) >= 4 {
				checks[i].Detail = strings.ReplaceAll(checks[i].Detail, s, "***")
			}
		}
	}
}

// Print writes one line per check and a summary. fancy (a terminal, no
// NO_COLOR) marks checks with a coloured ✓ or ✗; otherwise with ok or
// FAIL, for logs and pipes. Details are shown as display.Visible shows a
// value: they quote repository files and CRM answers.
func Print(w io.Writer, checks []Check, fancy bool) {
	for _, c := range checks {
		mark := "ok  "
		switch {
		case fancy && c.Skipped:
			mark = "\x1b[2m-\x1b[0m"
		case fancy && c.OK:
			mark = "\x1b[32m✓\x1b[0m"
		case fancy:
			mark = "\x1b[31m✗\x1b[0m"
		case c.Skipped:
			mark = "skip"
		case !c.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %-*s %s\n", mark, nameWidthLimit+1, c.Name+":", display.Visible(c.Detail))
	}
	failed, skipped := Failed(checks), 0
	for _, c := range checks {
		if c.Skipped {
			skipped++
		}
	}
	summary := fmt.Sprintf("%d check(s), %d failed", len(checks), failed)
	if skipped > 0 {
		summary += fmt.Sprintf(", %d skipped", skipped)
	}
	fmt.Fprintln(w, summary)
}

// RedactURL removes the credentials a remote URL may carry
// (https://user:token@host/...), keeping the rest to name the remote.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil && u.Host != "" {
		u.User = nil
		return u.String()
	}
	// scp-like user@host:path keeps its user: it is a login, not a secret.
	return raw
}

// oneLine keeps a detail on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// errText is an error's message on one line.
func errText(err error) string { return oneLine(err.Error()) }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)
