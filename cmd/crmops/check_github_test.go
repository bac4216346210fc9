package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// In a GitHub Actions step, check annotates failed rows with workflow
// commands, keeps the rows it quotes from being read as commands, and
// appends a table to the job summary.
func TestCheckInGitHubActions(t *testing.T) {
	h := newHarness(t)
	h.ok("", "init", h.dir)
	bad := h.writeFile("proposals/2026-11/b-bad.yaml", "version: 1\nbatch: b-bad\n\"evil\\n::add-mask::x\": 1\n")
	summary := filepath.Join(t.TempDir(), "summary.md")
	h.env["GITHUB_ACTIONS"] = "true"
	h.env["GITHUB_STEP_SUMMARY"] = summary

	r := h.expect(exitInvalid, "", []string{"check", bad})
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	stop := regexp.MustCompile(`^::stop-commands::(crmops-\S+)$`).FindStringSubmatch(lines[0])
	if stop == nil {
		t.Fatalf("the output does not start by stopping workflow commands:\n%s", r.out)
	}
	resumed := -1
	for i, l := range lines {
		if l == "::"+stop[1]+"::" {
			resumed = i
		}
	}
	// The key's line feed is shown, not printed: the key stays on the
	// error's line, which is between stop and resume.
	injected := strings.Index(r.out, "evil⟨U+000A⟩::add-mask::x")
	if strings.Contains(r.out, "\n::add-mask::x") || resumed < 0 || injected < 0 || injected > strings.Index(r.out, "::"+stop[1]+"::") {
		t.Errorf("the quoted key is not shown on its error's line between stop and resume:\n%s", r.out)
	}
	want := "::error file=proposals/2026-11/b-bad.yaml,line=3,title=crmops check::evil%0A::add-mask::x: unknown key"
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, want) || resumed != len(lines)-2 {
		t.Errorf("the last line is %q, want the annotation %q after the resume line", last, want)
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "| proposals/2026-11/b-bad.yaml | b-bad |") {
		t.Errorf("the summary lacks the row:\n%s", data)
	}

	t.Run("with --json, stdout stays JSON and annotations go to stderr", func(t *testing.T) {
		r := h.expect(exitInvalid, "", []string{"check", "--json", bad})
		if strings.Contains(r.out, "::") && !strings.HasPrefix(strings.TrimSpace(r.out), "[") {
			t.Errorf("stdout is not JSON:\n%s", r.out)
		}
		if !strings.Contains(r.err, want) {
			t.Errorf("stderr lacks the annotation:\n%s", r.err)
		}
	})
	t.Run("outside Actions, nothing is added", func(t *testing.T) {
		h.env["GITHUB_ACTIONS"] = ""
		h.env["GITHUB_STEP_SUMMARY"] = ""
		r := h.expect(exitInvalid, "", []string{"check", bad})
		if strings.Contains(r.out, "::stop-commands::") || strings.Contains(r.out, "::error") {
			t.Errorf("workflow commands outside Actions:\n%s", r.out)
		}
	})
}

// A pull request that loosens the policy must still be judged by the base
// branch's policy; without the base branch fetched, check refuses to judge.
func TestCheckInAPullRequestUsesTheBaseBranchPolicy(t *testing.T) {
	h := newHarness(t)
	h.ok("", "init", h.dir)
	// The pull request's checkout carries a policy that denies nothing and
	// a batch the base policy denies.
	strict := strings.Replace(readFile(t, filepath.Join(h.dir, "policies/default.yaml")),
		"rules:                           # first match wins\n", "rules:                           # first match wins\n  - name: no-jobtitles\n    when: {field: jobtitle}\n    decision: deny\n", 1)
	h.pushToMain("deny job titles\n", map[string]string{"policies/default.yaml": strict})
	h.ok("", "review", "list") // sync the checkout with the base branch
	h.writeFile("policies/default.yaml", strings.Replace(strict, "decision: deny", "decision: auto", 1))
	id := "20261124T100000Z-pr-ffffff"
	file := h.writeFile(batchPathFor(id), batchFile(id, strings.Replace(fillChange, "field: phone", "field: jobtitle", 1)))

	h.env["GITHUB_BASE_REF"] = "main"
	h.expect(exitInvalid, "", []string{"check", file}, "deny", "no-jobtitles")

	h.env["GITHUB_BASE_REF"] = "trunk"
	h.expect(exitError, "", []string{"check", file}, "refs/remotes/origin/trunk is missing")
}

func batchPathFor(id string) string { return "proposals/2026-11/" + id + ".yaml" }
