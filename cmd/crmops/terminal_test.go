package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
)

// fakeTerminal is a stdout that says it is a terminal of width x height.
type fakeTerminal struct {
	bytes.Buffer
	width, height int
}

func (f *fakeTerminal) TerminalSize() (int, int, bool) { return f.width, f.height, true }

// runOn runs a command with out as its stdout.
func (h *harness) runOn(out io.Writer, argv ...string) result {
	h.t.Helper()
	var errOut bytes.Buffer
	return h.runWith(out, &errOut, argv...)
}

// runWith runs a command with out and errOut as its stdout and stderr.
func (h *harness) runWith(out, errOut io.Writer, argv ...string) result {
	h.t.Helper()
	f := newFactory(strings.NewReader(""), out, errOut, func(k string) string { return h.env[k] })
	f.now = func() time.Time { h.clock = h.clock.Add(time.Second); return h.clock }
	code := run(context.Background(), f, append([]string{"--repo", h.dir}, argv...))
	r := result{code: code}
	if b, ok := errOut.(interface{ String() string }); ok {
		r.err = b.String()
	}
	return r
}

// pagerScript is a pager that says it ran, and with which LESS, then
// shows its input.
func pagerScript(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pager.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho \"PAGER RAN LESS=$LESS\"\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var sgrCode = regexp.MustCompile("\x1b\\[[0-9;]*m")

// hostileChanges hold values that try escape sequences on a terminal.
const hostileChanges = `{"kind":"enrichment","object":"contacts","record":"1002","op":"set","field":"jobtitle","before":"CTO\u001b[2J","after":"Chief\u001b]8;;http://evil\u0007click","source":"clay\u001b[1A","confidence":0.9,"trigger":"import","reason":"row 3\u001b[31m"}
{"kind":"dedupe","object":"contacts","record":"1004","op":"merge","merge_from":"1005","source":"dedupe","confidence":0.93,"trigger":"rule","reason":"same email ignoring case","snapshot":{"email":"DEE@delta.io","jobtitle":"Founder"}}
`

// A reviewer's terminal gets colour and, for a long batch, the pager; a
// log or a pipe gets today's plain text.
func TestReviewShowOnATerminalIsColouredAndPaged(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	ps := h.propose(hostileChanges)
	var id, plain string
	for _, p := range ps {
		if out := h.ok("", "review", "show", p.Batch); strings.Contains(out, "CTO⟨U+001B⟩") {
			id, plain = p.Batch, out
		}
	}
	if id == "" {
		t.Fatalf("no batch of the jobtitle change: %+v", ps)
	}
	if strings.Contains(plain, "\x1b") {
		t.Fatalf("plain output holds an escape sequence:\n%q", plain)
	}
	script := pagerScript(t)
	h.env["CRMOPS_PAGER"] = script

	t.Run("colour and the pager on a small terminal", func(t *testing.T) {
		tty := &fakeTerminal{width: 80, height: 5}
		if r := h.runOn(tty, "review", "show", id); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		got := tty.String()
		if !strings.HasPrefix(got, "PAGER RAN LESS=FRX\n") {
			t.Errorf("not paged, or LESS not set for the pager:\n%q", got)
		}
		body := strings.TrimPrefix(got, "PAGER RAN LESS=FRX\n")
		for _, want := range []string{"\x1b[1mbatch\x1b[22m", "\x1b[32m", "\x1b[31m", "\x1b[33mreview\x1b[0m"} {
			if !strings.Contains(body, want) {
				t.Errorf("coloured output lacks %q:\n%q", want, body)
			}
		}
		if stripped := sgrCode.ReplaceAllString(body, ""); stripped != plain {
			t.Errorf("coloured output, colours removed, is not the plain output:\n%s\n---\n%s", stripped, plain)
		}
		// The only escape sequences are the colours: a value's are shown.
		if rest := sgrCode.ReplaceAllString(body, ""); strings.ContainsAny(rest, "\x1b\a") {
			t.Errorf("a value's escape sequence reached the terminal:\n%q", rest)
		}
		for _, want := range []string{"CTO⟨U+001B⟩[2J", "Chief⟨U+001B⟩]8;;http://evil⟨U+0007⟩click", "source clay⟨U+001B⟩[1A", "row 3⟨U+001B⟩[31m"} {
			if !strings.Contains(body, want) {
				t.Errorf("coloured output does not show %q escaped:\n%q", want, body)
			}
		}
	})
	t.Run("no pager when it fits", func(t *testing.T) {
		tty := &fakeTerminal{width: 200, height: 500}
		h.runOn(tty, "review", "show", id)
		if strings.Contains(tty.String(), "PAGER RAN") || !strings.Contains(tty.String(), "\x1b[") {
			t.Errorf("a batch that fits: paged, or not coloured:\n%q", tty.String())
		}
	})
	t.Run("--no-pager", func(t *testing.T) {
		tty := &fakeTerminal{width: 80, height: 5}
		h.runOn(tty, "review", "show", id, "--no-pager")
		if strings.Contains(tty.String(), "PAGER RAN") || !strings.Contains(tty.String(), "\x1b[") {
			t.Errorf("--no-pager: paged, or not coloured:\n%q", tty.String())
		}
	})
	t.Run("CRMOPS_PAGER=cat", func(t *testing.T) {
		h.env["CRMOPS_PAGER"] = "cat"
		defer func() { h.env["CRMOPS_PAGER"] = script }()
		tty := &fakeTerminal{width: 80, height: 5}
		h.runOn(tty, "review", "show", id)
		if strings.Contains(tty.String(), "PAGER RAN") {
			t.Errorf("CRMOPS_PAGER=cat paged:\n%q", tty.String())
		}
	})
	t.Run("CRMOPS_PAGER set to nothing", func(t *testing.T) {
		delete(h.env, "CRMOPS_PAGER")
		t.Setenv("CRMOPS_PAGER", "")
		t.Setenv("PAGER", script)
		defer func() { h.env["CRMOPS_PAGER"] = script }()
		tty := &fakeTerminal{width: 80, height: 5}
		h.runOn(tty, "review", "show", id)
		if strings.Contains(tty.String(), "PAGER RAN") {
			t.Errorf("CRMOPS_PAGER= paged:\n%q", tty.String())
		}
	})
	t.Run("PAGER when CRMOPS_PAGER is unset", func(t *testing.T) {
		delete(h.env, "CRMOPS_PAGER")
		h.env["PAGER"] = script
		defer func() { h.env["CRMOPS_PAGER"] = script; delete(h.env, "PAGER") }()
		tty := &fakeTerminal{width: 80, height: 5}
		h.runOn(tty, "review", "show", id)
		if !strings.HasPrefix(tty.String(), "PAGER RAN") {
			t.Errorf("$PAGER not used:\n%q", tty.String())
		}
	})
	t.Run("NO_COLOR", func(t *testing.T) {
		h.env["NO_COLOR"] = "1"
		defer delete(h.env, "NO_COLOR")
		tty := &fakeTerminal{width: 80, height: 5}
		h.runOn(tty, "review", "show", id)
		got := strings.TrimPrefix(tty.String(), "PAGER RAN LESS=FRX\n")
		if got != plain {
			t.Errorf("NO_COLOR: not the plain output:\n%q", got)
		}
	})
	t.Run("not a terminal: plain, unpaged", func(t *testing.T) {
		var out bytes.Buffer
		h.runOn(&out, "review", "show", id)
		if out.String() != plain {
			t.Errorf("a pipe got:\n%q", out.String())
		}
	})
}

// A 1,000-merge batch is thousands of lines: on a terminal it is paged,
// never scrolled past.
func TestAThousandMergeBatchIsPaged(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	var changes strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&changes, "  - id: c%d\n    kind: dedupe\n    object: contacts\n    record: \"%d\"\n    op: merge\n    merge_from: \"%d\"\n    source: dedupe\n    confidence: 0.9\n    trigger: rule\n    reason: same email\n    snapshot: {email: a%d@x.com, firstname: A, lastname: B, phone: \"+1 555 0100\"}\n    survivor_snapshot: {email: a%d@x.com, firstname: A, lastname: B}\n",
			i+1, 10000+2*i, 10001+2*i, i, i)
	}
	const id = "20261124T060000Z-dedupe-big"
	h.pushToMain("a large merged batch\n", map[string]string{batch.Path(id): batchFile(id, changes.String())})
	plain := h.ok("", "review", "show", id)
	if n := strings.Count(plain, "\n"); n < 10000 {
		t.Fatalf("the batch renders to %d lines; the test wants a long one", n)
	}
	h.env["CRMOPS_PAGER"] = pagerScript(t)
	tty := &fakeTerminal{width: 120, height: 50}
	if r := h.runOn(tty, "review", "show", id); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	got := tty.String()
	if !strings.HasPrefix(got, "PAGER RAN") {
		t.Fatalf("a %d-line batch was not paged", strings.Count(plain, "\n"))
	}
	if stripped := sgrCode.ReplaceAllString(strings.TrimPrefix(got, "PAGER RAN LESS=FRX\n"), ""); stripped != plain {
		t.Errorf("the pager did not get the whole batch: %d bytes, want %d", len(stripped), len(plain))
	}
}

func TestAuditOnATerminalIsColouredAndPaged(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	h.propose(hostileChanges)
	plain := h.ok("", "audit", "contacts/1002")
	if strings.Contains(plain, "\x1b") || !strings.Contains(plain, "CTO⟨U+001B⟩[2J") {
		t.Fatalf("plain audit:\n%q", plain)
	}
	h.env["CRMOPS_PAGER"] = pagerScript(t)
	tty := &fakeTerminal{width: 80, height: 2}
	if r := h.runOn(tty, "audit", "contacts/1002"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	got := tty.String()
	if !strings.HasPrefix(got, "PAGER RAN") {
		t.Errorf("audit longer than the terminal was not paged:\n%q", got)
	}
	body := strings.TrimPrefix(got, "PAGER RAN LESS=FRX\n")
	for _, want := range []string{"\x1b[31m\"CTO⟨U+001B⟩[2J\"", "\x1b[32m\"Chief⟨U+001B⟩]8;;http://evil⟨U+0007⟩click\"", "\x1b[33mpending"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit lacks %q:\n%q", want, body)
		}
	}
	if stripped := sgrCode.ReplaceAllString(body, ""); stripped != plain {
		t.Errorf("coloured audit, colours removed, is not the plain one:\n%s\n---\n%s", stripped, plain)
	}
	if strings.ContainsAny(sgrCode.ReplaceAllString(body, ""), "\x1b\a") {
		t.Errorf("a value's escape sequence reached the terminal:\n%q", body)
	}
	var js bytes.Buffer
	h.runOn(&fakeTerminal{width: 80, height: 2}, "audit", "contacts/1002", "--json")
	h.runOn(&js, "audit", "contacts/1002", "--json")
	if strings.Contains(js.String(), "PAGER RAN") {
		t.Errorf("--json was paged")
	}
}

// crm seed shows how far it is: a bar on a terminal, plain lines in a log
// (CI, or stderr not a terminal).
func TestSeedShowsProgress(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	tty := &fakeTerminal{width: 100, height: 40}
	if r := h.runWith(io.Discard, tty, "crm", "seed", "--contacts", "3000", "--companies", "50"); r.code != 0 {
		t.Fatalf("seed: exit %d: %s", r.code, tty.String())
	}
	bar := tty.String()
	for _, want := range []string{"\r  seed: writing contacts", "100% [====================] (3000/3000)", "seed: writing companies"} {
		if !strings.Contains(bar, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, bar)
		}
	}
	var log bytes.Buffer
	if r := h.runWith(io.Discard, &log, "crm", "seed", "--contacts", "3000", "--companies", "50"); r.code != 0 {
		t.Fatalf("seed: exit %d: %s", r.code, log.String())
	}
	if got := log.String(); strings.Contains(got, "\r") || !strings.Contains(got, "seed: writing contacts: 3000/3000 (100%)\n") {
		t.Errorf("the log:\n%q", got)
	}
	h.env["CI"] = "true"
	tty = &fakeTerminal{width: 100, height: 40}
	h.runWith(io.Discard, tty, "crm", "seed", "--contacts", "3000", "--companies", "50")
	if got := tty.String(); strings.Contains(got, "\r") || !strings.Contains(got, "seed: writing contacts: 3000/3000 (100%)\n") {
		t.Errorf("on CI, the log:\n%q", got)
	}
}
