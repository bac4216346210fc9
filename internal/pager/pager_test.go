package pager

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestChooseFollowsCRMOPS_PAGERThenPAGERThenLess(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set: less, as git", map[string]string{}, "less -FRX"},
		{"PAGER", map[string]string{"PAGER": "most"}, "most"},
		{"CRMOPS_PAGER first", map[string]string{"CRMOPS_PAGER": "less -S", "PAGER": "most"}, "less -S"},
		{"CRMOPS_PAGER empty: none", map[string]string{"CRMOPS_PAGER": "", "PAGER": "most"}, ""},
		{"CRMOPS_PAGER cat: none", map[string]string{"CRMOPS_PAGER": "cat", "PAGER": "most"}, ""},
		{"PAGER empty: none", map[string]string{"PAGER": ""}, ""},
		{"PAGER cat: none", map[string]string{"PAGER": " cat "}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Choose(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if got != tt.want {
				t.Errorf("Choose = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRowsCountWrappedLinesAndNotColours(t *testing.T) {
	text := []byte("short\n\x1b[32m" + strings.Repeat("x", 10) + "\x1b[0m\n" + strings.Repeat("y", 25) + "\n東京東京東京\n\n")
	if got := Rows(text, 10); got != 1+1+3+2+1 {
		t.Errorf("Rows = %d, want 8", got)
	}
	if got := Rows(text, 0); got != 5 {
		t.Errorf("Rows without a width = %d, want 5", got)
	}
	if !Fits([]byte("a\nb\n"), 80, 3) || Fits([]byte("a\nb\nc\n"), 80, 3) || Fits([]byte("a\n"), 80, 0) {
		t.Error("Fits: a text fits with a row to spare for the prompt, and never on a terminal of unknown height")
	}
}

func TestEnvSetsLessOptionsOnlyWhenUnset(t *testing.T) {
	got := Env([]string{"HOME=/h"})
	if !slices.Contains(got, "LESS=FRX") || !slices.Contains(got, "LV=-c") {
		t.Errorf("Env = %q", got)
	}
	got = Env([]string{"LESS=-S"})
	if slices.Contains(got, "LESS=FRX") || !slices.Contains(got, "LESS=-S") {
		t.Errorf("a user's LESS was overridden: %q", got)
	}
}

func script(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the pager runs through sh")
	}
	p := filepath.Join(t.TempDir(), "pager")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPageRunsThePagerOnlyForALongText(t *testing.T) {
	long := []byte(strings.Repeat("line\n", 100))
	pager := script(t, "echo PAGED; cat\n")
	var out bytes.Buffer
	if err := Page(long, Options{Command: pager, Width: 80, Height: 24, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "PAGED\n"+string(long) {
		t.Errorf("paged output %q", out.String())
	}
	out.Reset()
	short := []byte("one line\n")
	if err := Page(short, Options{Command: pager, Width: 80, Height: 24, Stdout: &out}); err != nil || out.String() != string(short) {
		t.Errorf("a short text: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := Page(long, Options{Command: "", Width: 80, Height: 24, Stdout: &out}); err != nil || out.String() != string(long) {
		t.Errorf("no pager: %q, %v", out.String(), err)
	}
}

func TestPageCapturesWithARedirection(t *testing.T) {
	file := filepath.Join(t.TempDir(), "captured")
	script(t, "") // skips on Windows
	var out bytes.Buffer
	long := []byte(strings.Repeat("line\n", 100))
	if err := Page(long, Options{Command: "cat > " + file, Height: 10, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != string(long) || out.Len() != 0 {
		t.Errorf("captured %q (%v), stdout %q", got, err, out.String())
	}
}

func TestAPagerThatQuitsEarlyOrIsMissingLosesNothing(t *testing.T) {
	long := []byte(strings.Repeat("a long line of text\n", 50000)) // more than a pipe holds
	var out bytes.Buffer
	if err := Page(long, Options{Command: script(t, "head -n 1\n"), Height: 10, Stdout: &out}); err != nil {
		t.Errorf("a pager quit early is no error: %v", err)
	}
	if out.String() != "a long line of text\n" {
		t.Errorf("the pager showed %q", out.String()[:min(out.Len(), 100)])
	}
	out.Reset()
	var errOut bytes.Buffer
	if err := Page([]byte("x\ny\n"), Options{Command: "/nonexistent/pager -x", Height: 1, Stdout: &out, Stderr: &errOut}); err != nil || out.String() != "x\ny\n" {
		t.Errorf("a pager the shell cannot find: %q, %v (stderr %q)", out.String(), err, errOut.String())
	}
}
