package workflows_test

// crmops.yaml decides which CRM crmops writes to, which token it reads and
// where it sends it: it is guarded like policies/. crmops never merges a
// proposal that changes it (or anything else outside proposals/), and the
// CODEOWNERS example in docs/github.md gives it owners.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

// guarded are the files that decide what crmops does with its tokens.
var guarded = []string{"crmops.yaml", "policies/default.yaml", ".github/workflows/detect.yml", ".github/CODEOWNERS", "action.yml"}

func TestAProposalTouchingConfigurationIsNeverMerged(t *testing.T) {
	ctx := context.Background()
	ws, err := workspace.Init(ctx, filepath.Join(t.TempDir(), "crm-changes"), time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base, err := ws.Git.Ref(gitrepo.BranchRef(gitrepo.DefaultBranch))
	if err != nil {
		t.Fatal(err)
	}
	const id = "20261124T090000Z-sneaky-eeeeee"
	content := []byte("version: 1\nbatch: " + id + "\ncreated: 2026-11-24T09:00:00Z\ndetector: test\ntitle: test batch\nchanges:\n" +
		"  - id: c1\n    kind: enrichment\n    object: contacts\n    record: \"1004\"\n    op: set\n    field: phone\n    before: \"\"\n" +
		"    after: \"+1 555 0100\"\n    source: clay\n    confidence: 0.99\n    trigger: import\n")
	svc := &review.Service{WS: ws, Now: time.Now}
	for _, f := range guarded {
		t.Run(f, func(t *testing.T) {
			ev, err := svc.Evaluate(ctx, &forge.Open{
				BatchID: id, Branch: "crmops/" + id, Base: base.String(), Head: base.String(), Author: "mallory",
				Path: batch.Path(id), Content: content, Files: []string{batch.Path(id), f},
			})
			if err != nil {
				t.Fatal(err)
			}
			if ev.Decision != "" || !strings.Contains(ev.Blocked, f) || !strings.Contains(ev.Blocked, "outside proposals/") {
				t.Errorf("a proposal that also changes %s: decision %q, blocked %q; want it blocked for changing %s outside proposals/", f, ev.Decision, ev.Blocked, f)
			}
		})
	}
}

var codeownersLine = regexp.MustCompile(`^\s*(/\S*)\s+@\S+`)

func TestCodeownersExampleCoversTheConfiguration(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "github.md"))
	if err != nil {
		t.Fatal(err)
	}
	owned := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if m := codeownersLine.FindStringSubmatch(line); m != nil {
			owned[m[1]] = true
		}
	}
	for _, want := range []string{"/crmops.yaml", "/policies/", "/.github/", "/action.yml"} {
		if !owned[want] {
			t.Errorf("docs/github.md's CODEOWNERS example gives %s no owners (it lists %v)", want, owned)
		}
	}
}

// A pull request that adds apply's saved progress (or anything else under
// .crmops/) could claim progress never made: check.yml runs on it and fails.
func TestCheckWorkflowRefusesMachineStateInAPullRequest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "check.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, `- ".crmops/**"`) {
		t.Error("check.yml does not run on pull requests that change .crmops/")
	}
	step := regexp.MustCompile(`(?s)- name: Refuse machine state in git\n\s+run: \|\n(.*?)\n\n`).FindStringSubmatch(text)
	if step == nil || !strings.Contains(step[1], "git diff --name-only HEAD^1 HEAD -- .crmops/") || !strings.Contains(step[1], "exit 1") {
		t.Errorf("check.yml has no step failing a pull request that adds .crmops/ files")
	}
}
